// Interim until the full SamplingParams lands.
extension SamplingParams {
    var n: Int { 1 }
}
