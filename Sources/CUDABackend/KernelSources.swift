/// The `.cu` files of `Kernels/`, embedded in the binary at build time (so the one static binary
/// carries them) and compiled together as one NVRTC program.
public enum KernelSources {
    public static var all: String {
        [PackageResources.common_cu, PackageResources.mma_cu, PackageResources.elementwise_cu, PackageResources.qkv_cu, PackageResources.attention_cu,
         PackageResources.sampling_cu, PackageResources.prefill_cu,
         PackageResources.moe_cu, PackageResources.gemv_cu]
            .map { String(decoding: $0, as: UTF8.self) }
            .joined(separator: "\n")
    }
}
