"""Inserts `pdl_wait();` as the first statement of every extern "C" __global__ kernel that lacks it
(every kernel launched with programmatic dependent launch must wait for its predecessor), unless
its first statement calls a `*_pdl` device function, which waits itself after reading weights."""
import pathlib, re, sys
for path in sorted(pathlib.Path("Sources/CUDABackend/Kernels").glob("*.cu")):
    s = path.read_text()
    out, i = [], 0
    for m in re.finditer(r'extern "C" __global__', s):
        brace = s.index("{", m.end())
        out.append(s[i:brace + 1])
        i = brace + 1
        head = s[i:i + 200].lstrip(" \\\n")
        # A first call to a `*_pdl` function is allowed: it reads only weights before waiting itself.
        if not head.startswith("pdl_wait(") and not re.match(r"\w+_pdl\(", head):
            eol = s.index("\n", i)
            if s[i:eol].strip() == "\\":  # inside a macro: keep the line continuations
                out.append(s[i:eol + 1])
                i = eol + 1
                out.append("        pdl_wait();".ljust(117) + "\\\n")
            else:
                out.append("\n    pdl_wait();")
    out.append(s[i:])
    new = "".join(out)
    if new != s:
        path.write_text(new)
        print("updated", path)
