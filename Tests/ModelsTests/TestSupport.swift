import Foundation
import Models
import Tensors

/// A fresh temporary directory, removed when the value goes.
final class TempDir {
    let url: URL

    init() {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("osprey-models-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    @discardableResult
    func write(_ name: String, _ data: Data) -> URL {
        let file = url.appendingPathComponent(name)
        try! data.write(to: file)
        return file
    }

    @discardableResult
    func write(_ name: String, _ text: String) -> URL { write(name, Data(text.utf8)) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

/// Builds safetensors bytes by hand: header JSON given verbatim, data appended.
func safetensorsBytes(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> Data {
    var out = Data()
    let headerBytes = Array(header.utf8)
    withUnsafeBytes(of: (declaredLength ?? UInt64(headerBytes.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: headerBytes)
    out.append(contentsOf: data)
    return out
}

/// Little-endian GGUF writer for hand-made test files.
struct GGUFBuilder {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i32(_ v: Int32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: s.utf8) }

    /// Magic, version and counts.
    mutating func header(version: UInt32 = 3, tensors: Int, kvs: Int, magic: String = "GGUF") {
        bytes.append(contentsOf: magic.utf8)
        u32(version)
        u64(UInt64(tensors))
        u64(UInt64(kvs))
    }

    mutating func kvString(_ key: String, _ value: String) { string(key); u32(8); string(value) }
    mutating func kvU32(_ key: String, _ value: UInt32) { string(key); u32(4); u32(value) }
    mutating func kvF32(_ key: String, _ value: Float) { string(key); u32(6); f32(value) }

    /// A tensor info; `dims` innermost-first as GGUF stores them.
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }

    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }

    var data: Data { Data(bytes) }
}

extension HostTensor {
    /// Elements widened to Float (f32, f16, bf16).
    var floats: [Float] {
        switch dtype {
        case .f32: return (0 ..< count).map { bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .f16: return (0 ..< count).map { Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self))) }
        case .bf16: return (0 ..< count).map { Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
        default: fatalError("floats of \(dtype)")
        }
    }

    /// Row `row` of a Q4_1 matrix, dequantized: per 32-element block an f16 scale d, an f16 minimum m,
    /// then 16 bytes whose low nibbles are elements 0..15 and high nibbles 16..31; x = q * d + m.
    func q4_1Row(_ row: Int) -> [Float] {
        precondition(dtype == .q4_1)
        let cols = shape.last!
        let rowBytes = dtype.byteCount(elements: cols)
        var out: [Float] = []
        for block in 0 ..< cols / 32 {
            let base = row * rowBytes + block * 20
            let d = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: base, as: UInt16.self)))
            let m = Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: base + 2, as: UInt16.self)))
            var values = [Float](repeating: 0, count: 32)
            for j in 0 ..< 16 {
                let q = bytes[base + 4 + j]
                values[j] = Float(q & 0xF) * d + m
                values[j + 16] = Float(q >> 4) * d + m
            }
            out += values
        }
        return out
    }

    /// FNV-1a 64 of all bytes.
    var fnv1a: UInt64 { FNV1a.hash(bytes) }
}

/// The default test model, when `scripts/fetch-default-model.sh` has fetched it.
let smolLM2Path: String = {
    let cache = ProcessInfo.processInfo.environment["OSPREY_CACHE"]
        ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/osprey").path
    return cache + "/SmolLM2-135M-Instruct.Q4_1.gguf"
}()
let haveSmolLM2 = FileManager.default.fileExists(atPath: smolLM2Path)

/// The repository root (tests read `model-configs/`).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// Runs `body`, expecting a `ModelError`; returns it (nil when nothing or something else was thrown).
func modelError(_ body: () throws -> Void) -> ModelError? {
    do {
        try body()
        return nil
    } catch let error as ModelError {
        return error
    } catch {
        return nil
    }
}
