import Foundation

/// The `.cu` files of `Kernels/`, embedded in the binary at build time (so the one static binary
/// carries them) and compiled together as one NVRTC program.
public enum KernelSources {
    /// `OSPREY_KERNEL_DEFINES` (comma-separated, `NAME` or `NAME=VALUE`, e.g. GEMV_VECS=2) compiles
    /// the kernels with those macros: the knobs the sources offer, for measuring one variant
    /// against another in the same sitting.
    static let defines: [(name: String, value: String)] = (ProcessInfo.processInfo.environment["OSPREY_KERNEL_DEFINES"] ?? "")
        .split(separator: ",").map { item in
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }

    /// The integer value OSPREY_KERNEL_DEFINES gives `name`, for host code that must agree with it.
    static func define(_ name: String) -> Int? { defines.last { $0.name == name }.flatMap { Int($0.value) } }

    public static var all: String {
        let defines = Self.defines.map { "#define \($0.name) \($0.value)\n" }.joined()
        return defines + [PackageResources.common_cu, PackageResources.mma_cu, PackageResources.elementwise_cu, PackageResources.qkv_cu, PackageResources.attention_cu,
         PackageResources.sampling_cu, PackageResources.prefill_cu,
         PackageResources.moe_cu, PackageResources.gemv_cu]
            .map { String(decoding: $0, as: UTF8.self) }
            .joined(separator: "\n")
    }
}
