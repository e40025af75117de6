// swift-tools-version:6.0
import PackageDescription

// Kernels are compiled with optimization and x86-64-v3 (AVX2/FMA/F16C) even in debug builds:
// a debug kernel is orders of magnitude slower and real-model tests would take minutes.
let kernelFlags: [CSetting] = [
    .unsafeFlags(["-O3", "-ffast-math", "-fno-finite-math-only"]),
    .unsafeFlags(["-mavx2", "-mfma", "-mf16c"], .when(platforms: [.linux])),
]

let package = Package(
    name: "Osprey",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "osprey", targets: ["osprey"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Templates", targets: ["Templates"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "Tensors"),
        .target(name: "CPUKernels", cSettings: kernelFlags, linkerSettings: [.linkedLibrary("pthread")]),
        .target(name: "CPUBackend", dependencies: ["Tensors", "CPUKernels"]),
        .target(name: "CUDABackend", dependencies: ["Tensors"],
                resources: [.embedInCode("Kernels/common.cu"), .embedInCode("Kernels/mma.cu"), .embedInCode("Kernels/elementwise.cu"),
                            .embedInCode("Kernels/qkv.cu"), .embedInCode("Kernels/attention.cu"), .embedInCode("Kernels/sampling.cu"),
                            .embedInCode("Kernels/prefill.cu"), .embedInCode("Kernels/moe.cu"),
                            .embedInCode("Kernels/gemv.cu")]),
        .target(name: "Models", dependencies: ["Tensors"]),
        .target(name: "Tokenizers"),
        .target(name: "Templates"),
        .target(name: "Engine", dependencies: ["Tensors", "Models", "Tokenizers", "Templates"]),
        .target(
            name: "Server",
            dependencies: [
                "Engine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(name: "OspreyTestSupport", dependencies: ["Tensors", "CPUBackend", "Models"], path: "Sources/OspreyTestSupport"),
        .executableTarget(
            name: "osprey",
            dependencies: [
                "Tensors", "CPUBackend", "CUDABackend", "Models", "Engine", "Server", "Tokenizers", "Templates",
                "OspreyTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "CPUBackendTests", dependencies: ["Tensors", "CPUBackend"], exclude: ["Fixtures"]),
        .testTarget(name: "ModelsTests", dependencies: ["Tensors", "CPUBackend", "Models", "Tokenizers", "OspreyTestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "EngineTests", dependencies: ["Tensors", "CPUBackend", "Models", "Engine", "Tokenizers", "Templates", "OspreyTestSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "Server", "Engine", "Models", "Tensors", "CPUBackend", "OspreyTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers"], exclude: ["Fixtures"]),
        .testTarget(name: "TemplatesTests", dependencies: ["Templates"], exclude: ["Fixtures"]),
        .testTarget(name: "SamplerTests", dependencies: ["Engine", "Tensors"]),
        .testTarget(name: "CUDABackendTests", dependencies: ["CUDABackend"], exclude: ["Emulation"]),
    ]
)
