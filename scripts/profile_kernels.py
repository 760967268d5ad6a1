"""Where a summary-mode run spends its time, by compiled kernel and by instruction (Linux ``perf``).

    python scripts/profile_kernels.py [--paths N] [--scenario FILE] [--top K] [--show FUNC] [--out DIR]

numba's machine code has no symbols that ``perf`` can see, so this process
compiles every kernel itself (an empty numba cache, no second process),
writes a perf map (``/tmp/perf-PID.map``) of every function of every
compiled library from the library's object code (``nm`` of it), keeps the
object files, then runs ``perf record -e cpu-clock`` on itself during one
summary run of ``scenarios/avalanche.yaml`` (or ``--scenario``) on one thread. It prints the
share of samples per function and, for each of the ``--top`` busiest
kernels, the busiest 128-byte windows of its code; ``--show FUNC`` prints
that function's disassembly (``objdump``) with the samples of each
instruction, to read a hot loop with (a sample often lands on the
instruction after a slow one).

Needs ``perf`` (Debian's linux-perf) and binutils; the compile takes about
a minute. ``docs/performance.md`` section 14 has what it found.
"""

import argparse
import bisect
import collections
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def symbols(out: pathlib.Path) -> list:
    """(address, size, name, object file, offset in it) of every function of every library numba
    compiled in this process."""
    import gc

    from numba.core.registry import CPUDispatcher

    found, seen = [], set()
    for obj in gc.get_objects():
        if not isinstance(obj, CPUDispatcher):
            continue
        for cres in obj.overloads.values():
            lib = cres.library
            if id(lib) in seen:
                continue
            seen.add(id(lib))
            try:
                code = lib.serialize_using_object_code()[2][0]
            except Exception:  # noqa: BLE001 - loaded from a cache: no object code kept
                continue
            path = out / f"{obj.py_func.__name__}_{len(seen)}.o"
            path.write_bytes(code)
            nm = subprocess.run(["nm", "-S", "--defined-only", str(path)], capture_output=True, text=True).stdout
            for line in nm.splitlines():
                parts = line.split()
                if len(parts) == 4 and parts[2] in "tT":
                    try:
                        address = lib.get_pointer_to_function(parts[3])
                    except Exception:  # noqa: BLE001
                        address = 0
                    if address:
                        found.append((address, int(parts[1], 16), parts[3], str(path), int(parts[0], 16)))
    return sorted(set(found))


def record(paths: int, out: pathlib.Path, scenario: str) -> None:
    """Compile, write the perf map, and record one run (this process)."""
    sys.path.insert(0, str(ROOT))
    import numba

    import simulator.precompile as precompile
    from simulator.bench import workload
    from simulator.cli import _small_pages
    from simulator.stream import run_summary

    numba.set_num_threads(1)
    _small_pages()  # numpy's arrays on small pages, as in ``simulate run``
    precompile.compile_ahead = lambda plan: None  # compile here: numba keeps the object code only then
    w = workload(scenario, paths)

    def run(n):
        run_summary(w.scenario, n_paths=n, inputs=w.inputs, companies=w.companies_inputs, exact_bytes=0)

    run(600)
    syms = symbols(out)
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as f:
        for address, size, name, _, _ in syms:
            f.write(f"{address:x} {size:x} {name}\n")
    (out / "symbols.json").write_text(json.dumps(syms))
    perf = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", str(out / "perf.data"),
                             "-p", str(os.getpid())], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    t0 = time.perf_counter()
    run(paths)
    print(f"run: {paths} paths in {time.perf_counter() - t0:.2f} s (one thread, under perf)")
    perf.send_signal(signal.SIGINT)
    perf.wait()


def short(name: str) -> str:
    """A readable name for a numba symbol: its module and function (``_ZN<len><name>...`` parts)."""
    prefix = "cfunc." if name.startswith("cfunc.") else ""
    rest = name[len(prefix):]
    if not rest.startswith("_ZN"):
        return name[:60]
    i, parts = 3, []
    while i < len(rest) and rest[i].isdigit():
        j = i
        while rest[j].isdigit():
            j += 1
        n = int(rest[i:j])
        parts.append(rest[j:j + n])
        i = j + n
    return prefix + ".".join(parts[-2:])


def report(out: pathlib.Path, top: int, show: str | None) -> None:
    syms = [tuple(s) for s in json.loads((out / "symbols.json").read_text())]
    starts = [s[0] for s in syms]
    script = subprocess.run(["perf", "script", "-i", str(out / "perf.data"), "-F", "ip,sym", "--hide-call-graph"],
                            capture_output=True, text=True).stdout
    by_function, by_offset = collections.Counter(), collections.Counter()
    total = 0
    for line in script.splitlines():
        parts = line.split(None, 1)
        if not parts:
            continue
        total += 1
        ip = int(parts[0], 16)
        i = bisect.bisect_right(starts, ip) - 1
        if i >= 0 and ip < syms[i][0] + syms[i][1]:
            by_function[syms[i][2]] += 1
            by_offset[(syms[i][2], ip - syms[i][0])] += 1
        else:
            by_function[parts[1].strip() if len(parts) > 1 else "?"] += 1
    print(f"{total} samples")
    for name, n in by_function.most_common(25):
        print(f"  {100 * n / total:5.1f} %  {short(name)}")
    for name, _ in [x for x in by_function.most_common() if x[0] in {s[2] for s in syms}][:top]:
        windows = collections.Counter()
        for (fn, off), n in by_offset.items():
            if fn == name:
                windows[off // 128 * 128] += n
        print(f"{short(name)}: busiest 128-byte windows (offset: share of all samples)")
        print("  " + ", ".join(f"{w:x}: {100 * n / total:.1f} %" for w, n in windows.most_common(8)))
    if show:
        address, size, name, obj, off = next(s for s in syms if show in s[2] and not s[2].startswith("cfunc"))
        dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True, text=True).stdout
        for line in dis.splitlines():
            m = re.match(r"\s+([0-9a-f]+):\s+(.*)", line)
            if m and off <= int(m.group(1), 16) < off + size:
                rel = int(m.group(1), 16) - off
                print(f"{by_offset.get((name, rel), 0):6d} {rel:6x}  {m.group(2)[:100]}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "avalanche.yaml"), help="scenario file (default: avalanche)")
    ap.add_argument("--top", type=int, default=4, help="kernels whose busiest code windows are printed")
    ap.add_argument("--show", help="print this function's disassembly with samples (a part of its name)")
    ap.add_argument("--out", help="folder for the object files and the recording (default: a temporary one)")
    ap.add_argument("--report-only", action="store_true", help="report on --out without recording again")
    args = ap.parse_args()
    if args.report_only:
        report(pathlib.Path(args.out), args.top, args.show)
        return
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "NUMBA_CACHE_DIR": str(out / "numba-cache")}
        subprocess.run([sys.executable, __file__, "--record", str(args.paths), str(out), args.scenario], env=env,
                       check=True)
        report(out, args.top, args.show)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--record":
        record(int(sys.argv[2]), pathlib.Path(sys.argv[3]), sys.argv[4])
    else:
        main()
