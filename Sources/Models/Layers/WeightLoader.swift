import Tensors

/// Moves named checkpoint tensors onto a backend, checking shapes. Small 1-D tensors (norm weights,
/// biases) are converted to f32 on the way: they cost nothing and keep every kernel's vector
/// operands in one dtype. Matrices keep their dtype (quantized ones stay quantized) unless the
/// backend's matrix kernels want another (`Backend.uploadMatrix`).
public final class WeightLoader {
    public let source: any WeightSource
    public let backend: any Backend
    /// Bytes uploaded so far (the weights a forward pass reads).
    public private(set) var loadedBytes = 0
    /// The part of `loadedBytes` that is routed experts (`experts`): a token reads only the ones it is routed to.
    public private(set) var expertBytes = 0
    /// Bytes of the token embedding table (`model.embed_tokens.weight`): a step reads only its tokens'
    /// rows of it, unless the LM head shares it.
    public private(set) var embeddingBytes = 0

    /// For `--load-format dummy`: tensors are made with the shape the architecture asks for.
    private let dummy: (dtype: DType, tiedEmbeddings: Bool)?

    public init(source: any WeightSource, backend: any Backend) {
        self.source = source
        self.backend = backend
        dummy = nil
    }

    /// Deterministic random weights in `dtype` for whatever the architecture loads.
    public init(dummy dtype: DType, tiedEmbeddings: Bool, backend: any Backend) {
        source = DummyWeights(shapes: [:], dtype: dtype)
        self.backend = backend
        dummy = (dtype, tiedEmbeddings)
    }

    public func contains(_ name: String) -> Bool {
        if let dummy { return name != "lm_head.weight" || !dummy.tiedEmbeddings }
        return source.contains(name)
    }

    private func host(_ name: String, shape: [Int]) throws -> HostTensor {
        let host = if let dummy { try DummyWeights(shapes: [name: shape], dtype: dummy.dtype).tensor(name) }
            else { try source.tensor(name) }
        try check(name, host, shape)
        return host
    }

    /// Dummy matrices the backend makes where they live (`Backend.generateDummyMatrix`): bf16
    /// ones, of random values; nil for the host to make.
    private func deviceDummy(_ names: [String], shapes: [[Int]]) throws -> Tensor? {
        guard let dummy, dummy.dtype == .bf16, let columns = shapes.first?.last,
              shapes.allSatisfy({ $0.count == 2 && $0[1] == columns }) || shapes.count == 1,
              names.allSatisfy({ DummyWeights.constant(for: $0) == nil }) else { return nil }
        let shape = shapes.count == 1 ? shapes[0] : [shapes.reduce(0) { $0 + $1[0] }, columns]
        return try backend.generateDummyMatrix(shape: shape, parts: zip(names, shapes).map {
            (DummyValues.seed(name: $0), $1.reduce(1, *))
        })
    }

    /// A matrix or embedding table, in its stored dtype.
    public func matrix(_ name: String, shape: [Int]) throws -> Tensor {
        let tensor = counted(try deviceDummy([name], shapes: [shape]) ?? backend.uploadMatrix(try host(name, shape: shape)))
        if name == "model.embed_tokens.weight" { embeddingBytes = tensor.byteCount }
        return tensor
    }

    /// A vector (norm weight, bias) as f32.
    public func vector(_ name: String, shape: [Int]) throws -> Tensor {
        let host = try host(name, shape: shape)
        loadedBytes += host.bytes.count
        return try backend.upload(host.convertedToF32())
    }

    /// Several matrices with equal column counts and dtypes stacked by rows into one (fused
    /// gate/up or q/k/v projections), so one kernel call computes them all.
    public func stackedMatrix(_ names: [String], shapes: [[Int]]) throws -> Tensor {
        if let tensor = try deviceDummy(names, shapes: shapes) { return counted(tensor) }
        return try uploadStacked(try zip(names, shapes).map { name, shape in try host(name, shape: shape) })
    }

    /// `stackedMatrix` where the parts can share one dtype; nil where they cannot (GGUF files mix
    /// quantizations: Q4_K_M stores v_proj in q6_K and q/k_proj in q4_K on some layers), and the
    /// caller keeps them apart. Plain float parts of different dtypes are stacked as f32.
    public func stackedMatrixIfUniform(_ names: [String], shapes: [[Int]]) throws -> Tensor? {
        if let tensor = try deviceDummy(names, shapes: shapes) { return counted(tensor) }
        var parts = try zip(names, shapes).map { name, shape in try host(name, shape: shape) }
        if Set(parts.map(\.dtype)).count > 1 {
            guard parts.allSatisfy({ !$0.dtype.isQuantized }) else { return nil }
            parts = parts.map { $0.convertedToF32() }
        }
        return try uploadStacked(parts)
    }

    private func uploadStacked(_ parts: [HostTensor]) throws -> Tensor {
        counted(try backend.uploadMatrix(HostTensor.stackRows(parts)))
    }

    /// `tensor`, with its bytes added to `loadedBytes`.
    private func counted(_ tensor: Tensor) -> Tensor {
        loadedBytes += tensor.byteCount
        return tensor
    }

    /// Several vectors (biases of stacked projections) concatenated into one, as f32.
    public func stackedVector(_ names: [String], shapes: [[Int]]) throws -> Tensor {
        var values: [Float] = []
        for (name, shape) in zip(names, shapes) {
            let host = try host(name, shape: shape)
            loadedBytes += host.bytes.count
            let f32 = host.convertedToF32()
            withExtendedLifetime(f32) { values += f32.bytes.bindMemory(to: Float.self) }
        }
        return try backend.upload(.f32(values, shape: [values.count]))
    }

    /// The weights of `count` SwiGLU experts under `prefix` (e.g. `model.layers.3.mlp.experts`), in
    /// the layout of `Backend.moe`: gateUp [count, 2 * intermediate, hidden] (each expert's gate rows,
    /// then its up rows) and down [count, hidden, intermediate]. Takes transformers' fused tensors
    /// (`prefix.gate_up_proj`, `prefix.down_proj`) where the source has them, else stacks the
    /// per-expert matrices (`prefix.{e}.gate_proj.weight`, ...) of published checkpoints.
    public func experts(_ prefix: String, count: Int, hidden: Int, intermediate: Int) throws -> (gateUp: Tensor, down: Tensor) {
        let gateUp = contains("\(prefix).gate_up_proj")
            ? try matrix("\(prefix).gate_up_proj", shape: [count, 2 * intermediate, hidden])
            : try stackedMatrix((0 ..< count).flatMap { ["\(prefix).\($0).gate_proj.weight", "\(prefix).\($0).up_proj.weight"] },
                                shapes: Array(repeating: [intermediate, hidden], count: 2 * count))
                .reshaped([count, 2 * intermediate, hidden])
        let down = contains("\(prefix).down_proj")
            ? try matrix("\(prefix).down_proj", shape: [count, hidden, intermediate])
            : try stackedMatrix((0 ..< count).map { "\(prefix).\($0).down_proj.weight" },
                                shapes: Array(repeating: [hidden, intermediate], count: count))
                .reshaped([count, hidden, intermediate])
        expertBytes += gateUp.byteCount + down.byteCount
        return (gateUp, down)
    }

    private func check(_ name: String, _ host: HostTensor, _ shape: [Int]) throws {
        guard host.shape == shape else { throw ModelError.shapeMismatch(name: name, expected: shape, found: host.shape) }
    }
}

extension HostTensor {
    /// Row-wise concatenation of 2-D tensors of one dtype and column count.
    public static func stackRows(_ parts: [HostTensor]) -> HostTensor {
        precondition(!parts.isEmpty)
        let dtype = parts[0].dtype, cols = parts[0].shape[1]
        precondition(parts.allSatisfy { $0.dtype == dtype && $0.shape.count == 2 && $0.shape[1] == cols },
                     "stackRows needs 2-D tensors of one dtype and width")
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        let out = OwnedBytes(count: parts.reduce(0) { $0 + $1.bytes.count })
        var offset = 0
        for part in parts {
            (out.pointer + offset).copyMemory(from: part.bytes.baseAddress!, byteCount: part.bytes.count)
            offset += part.bytes.count
        }
        return HostTensor(shape: [rows, cols], dtype: dtype, bytes: out.buffer, owner: out)
    }
}
