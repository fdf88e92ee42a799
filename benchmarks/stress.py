"""Thirty-three stress markets, built far from the other benchmarks, re-created from a seed.

The other benchmarks time the demo market (``scenarios.demo_data``) at larger and larger
sizes, so they only ever exercise the structure that generator gives: no offers, 5% of
children in sibling groups, plenty of places. These markets push one structure each, or all
at once, well past it: offers with ``capacity_use`` up to 3, up to 30% of children in
sibling groups of up to six (some free to split, some with mixed keep flags), 1-3 conflicts
per child, 30% enhanced staffing against scarce staff, ``max_new_admissions`` of 1, scarce
places with capped fallbacks, all-emergency batches, distance floors and avoided
authorities, children and units copied from a few templates (ties everywhere), and a dense
market of 2.3 million eligible pairs. ``docs/performance.md`` ("Stress test: 33 markets
built far from the benchmarks") quotes what they found; this script lets anyone re-create
those markets byte for byte and run them again.

Each market is a line of :data:`MARKETS`: a name and the generator's arguments, the seed
among them. The generator (``stress_gen.generate``) writes the contract files (``referrals.csv``,
``units.csv``, ``conflicts.csv``, ``offers.csv`` when the market has offers) and a
``policy.yaml``; every structure knob is an argument (``stress_gen.knob_parser``), so a new market
is a new line. Nothing is committed: the files go to a temporary folder that is deleted
afterwards (``--keep DIR`` keeps them, with the outputs and logs).

For each market the script runs what a user runs: ``pdps allocate`` in its own process
(wall clock, peak resident memory of that process, the stages of ``summary.json``), then
``pdps check`` on its allocation. It states no timing target: it exits 1 only when an
``allocate`` or a ``check`` exits non-zero. Run on demand (see README.md)::

    .venv/bin/python benchmarks/stress.py --list
    .venv/bin/python benchmarks/stress.py --market t00_smoke --market l1_mix_small
    .venv/bin/python benchmarks/stress.py --all [--time-limit 300] [--keep /tmp/stress]
    .venv/bin/python benchmarks/stress.py --market m1_dense_pairs --generate DIR
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from instances import engine_commit
from stress_gen import AS_OF, generate, knob_parser

#: The named markets: name -> the generator's arguments (see :func:`knob_parser`), as first
#: run. Changing a line changes the market: add a new name instead, so quoted figures stay
#: reproducible. ``t00_smoke`` checks every feature at once in a few seconds.
MARKETS: dict[str, str] = {
    "t00_smoke": "--children 300 --units 600 --seed 1 --offers-min 5 --offers-max 40 "
                 "--capuse-max 3 --sib-frac 0.25 --sib-max 6 --conf-min 1 --conf-max 3 "
                 "--enh-frac 0.3 --fallbacks rich --fb-cap 2,10",
    "a1_offers": "--children 1000 --units 2000 --seed 11 --offers-min 5 --offers-max 40 "
                 "--capuse-max 3 --offer-quality 20",
    "a2_offers_big": "--children 3000 --units 10000 --seed 12 --offers-min 20 --offers-max 40 "
                     "--capuse-max 3 --vac-ratio 1.5",
    "b1_sibs": "--children 1500 --units 3000 --seed 21 --sib-frac 0.3 --sib-min 2 --sib-max 6 "
               "--keep-false-frac 0.3",
    "b2_sibs_mixed": "--children 3000 --units 6000 --seed 22 --sib-frac 0.25 --sib-max 6 "
                     "--keep-false-frac 0.4 --mixed-keep-frac 0.3 --vac-ratio 1.5",
    "c1_conf": "--children 2000 --units 4000 --seed 31 --conf-min 1 --conf-max 3 "
               "--conf-local 0.9",
    "c2_conf_big": "--children 3000 --units 10000 --seed 32 --conf-min 2 --conf-max 3 "
                   "--conf-local 0.9 --vac-ratio 1.2",
    "d1_enh": "--children 1000 --units 2000 --seed 41 --enh-frac 0.3 --staff-max 1 "
              "--staff-zero-frac 0.7",
    "d2_enh_big": "--children 3000 --units 6000 --seed 42 --enh-frac 0.3 --staff-max 2 "
                  "--staff-zero-frac 0.6 --settings-mix 0.3,0.5,0.15,0.05",
    "e1_mna": "--children 2000 --units 4000 --seed 51 --mna-frac 1.0 --mna-max 1",
    "e2_mna_tight": "--children 3000 --units 3000 --seed 52 --mna-frac 1.0 --mna-max 1 "
                    "--vac-ratio 3",
    "f1_scarce": "--children 2000 --units 4000 --seed 61 --vac-ratio 0.5 --fallbacks rich "
                 "--fb-cap 5,30",
    "f2_scarce_big": "--children 3000 --units 10000 --seed 62 --vac-ratio 0.9",
    "g1_fbcap": "--children 1500 --units 3000 --seed 71 --vac-ratio 0.7 --fallbacks rich "
                "--fb-cap 1,5 --sib-frac 0.2 --sib-max 5",
    "h1_emerg": "--children 1000 --units 5000 --seed 81 --emerg-frac 1.0 "
                "--emerg-unit-frac 0.03",
    "h2_emerg_big": "--children 3000 --units 10000 --seed 82 --emerg-frac 1.0 "
                    "--emerg-unit-frac 0.05 --vac-ratio 1.0 --sib-frac 0.2",
    "i1_floors": "--children 2000 --units 4000 --seed 91 --min-dist-frac 0.6 --avoid-frac 0.5 "
                 "--spread 3",
    "i2_floors_all": "--children 3000 --units 8000 --seed 92 --min-dist-frac 1.0 "
                     "--min-dist-max 60 --avoid-frac 0.8 --spread 4",
    "j1_ties": "--children 1000 --units 2000 --seed 101 --ties 5",
    "j2_ties_big": "--children 3000 --units 10000 --seed 102 --ties 10 --sib-frac 0.2 "
                   "--conf-min 1 --conf-max 2",
    "j3_ties_scarce": "--children 2000 --units 2000 --seed 103 --ties 3 --vac-ratio 0.8 "
                      "--fallbacks rich --fb-cap 10,50",
    "k1_cheapfb": "--children 2000 --units 4000 --seed 111 --fallbacks rich "
                  "--fb-price-factor 0.05 --fb-cap 50,200",
    "k2_cheapfb_nocap": "--children 1000 --units 10000 --seed 112 --fb-price-factor 0.3",
    "l1_mix_small": "--children 300 --units 600 --seed 121 --offers-min 5 --offers-max 40 "
                    "--capuse-max 3 --sib-frac 0.25 --sib-max 6 --conf-min 1 --conf-max 3 "
                    "--enh-frac 0.3 --staff-max 1 --mna-frac 1 --mna-max 1 --vac-ratio 0.7 "
                    "--fallbacks rich --fb-cap 1,5 --emerg-frac 0.5 --emerg-unit-frac 0.1 "
                    "--min-dist-frac 0.3 --avoid-frac 0.3 --fb-price-factor 0.5",
    "l2_mix_mid": "--children 1500 --units 5000 --seed 122 --sib-frac 0.25 --sib-max 6 "
                  "--mixed-keep-frac 0.2 --conf-min 1 --conf-max 3 --enh-frac 0.3 "
                  "--staff-max 2 --mna-frac 0.8 --mna-max 1 --vac-ratio 0.8 --fallbacks rich "
                  "--fb-cap 2,20 --emerg-frac 0.4 --emerg-unit-frac 0.1 --min-dist-frac 0.3 "
                  "--avoid-frac 0.3 --fb-price-factor 0.2",
    "l3_mix_offers_big": "--children 3000 --units 10000 --seed 123 --offers-min 5 "
                         "--offers-max 40 --capuse-max 3 --sib-frac 0.25 --sib-max 6 "
                         "--conf-min 1 --conf-max 3 --enh-frac 0.3 --staff-max 2 "
                         "--mna-frac 0.8 --mna-max 1 --vac-ratio 0.8 --fallbacks rich "
                         "--fb-cap 5,50 --emerg-frac 0.3 --min-dist-frac 0.2 --avoid-frac 0.3",
    "l4_mix_big": "--children 3000 --units 10000 --seed 124 --sib-frac 0.3 --sib-max 6 "
                  "--keep-false-frac 0.5 --conf-min 1 --conf-max 3 --enh-frac 0.3 "
                  "--staff-max 1 --mna-frac 1 --mna-max 2 --vac-ratio 0.9 --fallbacks rich "
                  "--fb-cap 5,40 --emerg-frac 0.3 --emerg-unit-frac 0.1 --min-dist-frac 0.3 "
                  "--avoid-frac 0.3 --fb-price-factor 0.1 --ties 40",
    "m1_dense_pairs": "--children 3000 --units 10000 --seed 131 --child-multi-setting 1.0 "
                      "--needs-rate 0.02 --unit-needs-rate 0.9 --max-dist-frac 0 "
                      "--emerg-frac 0 --avail-future-frac 0 --vac-ratio 1.2",
    "m2_extreme_ratio": "--children 3000 --units 600 --seed 132 --vac-ratio 0.6 "
                        "--sib-frac 0.2 --conf-min 1 --conf-max 2 --fallbacks rich "
                        "--fb-cap 20,100",
    "m3_few_children": "--children 300 --units 10000 --seed 133 --sib-frac 0.3 --sib-max 6 "
                       "--conf-min 1 --conf-max 3 --offers-min 30 --offers-max 40 "
                       "--capuse-max 3",
    "n1_ties_small": "--children 300 --units 600 --seed 141 --ties 3",
    "n2_ties_mid": "--children 1000 --units 2000 --seed 142 --ties 20",
    "n3_dense_mid": "--children 1500 --units 5000 --seed 143 --child-multi-setting 1.0 "
                    "--needs-rate 0.02 --unit-needs-rate 0.9 --max-dist-frac 0 "
                    "--emerg-frac 0 --avail-future-frac 0 --vac-ratio 1.2",
}

def knobs_of(name: str) -> argparse.Namespace:
    """The parsed arguments of the named market (every knob, defaults filled in)."""
    return knob_parser().parse_args(shlex.split(MARKETS[name]))


# --------------------------------------------------------------------------------- runner

def pdps() -> list[str]:
    """The ``pdps`` command of this interpreter's environment.

    ``python -m allocator.cli`` runs nothing (the module has no ``__main__`` block), so this
    is the entry point installed beside ``sys.executable``, or the same function called
    through ``-c`` where the package is importable but not installed.
    """
    script = Path(sys.executable).with_name("pdps")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from allocator.cli import main; main()"]


def input_args(folder: Path) -> list[str]:
    """The input options of ``pdps allocate`` and ``pdps check`` for a generated market."""
    inputs = folder / "input"
    files = ["-r", str(inputs / "referrals.csv"), "-u", str(inputs / "units.csv"),
             "--conflicts", str(inputs / "conflicts.csv"), "--policy",
             str(folder / "policy.yaml"), "--as-of", AS_OF.isoformat()]
    if (inputs / "offers.csv").exists():
        files += ["--offers", str(inputs / "offers.csv")]
    return files


def timed(command: list[str], log: Path) -> tuple[int, float, float]:
    """Run ``command`` with its output in ``log``; its exit code, wall seconds and peak MiB.

    The peak is that one process's ``ru_maxrss`` from ``os.wait4``: the same kernel figure
    as ``/usr/bin/time`` (which may be absent) and ``getrusage(RUSAGE_CHILDREN)``, but the
    latter is the largest of every child waited for so far, so from the second market on it
    would report the biggest earlier one.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return process.returncode, wall, usage.ru_maxrss / scale


def run_market(name: str, folder: Path, time_limit: float | None) -> dict[str, Any]:
    """Generate the market into ``folder``, allocate it, check the allocation.

    Returns the row: counts, ``allocate``'s exit code, wall seconds and peak MiB, the
    summary's status, objective, bound, gap and stage seconds, and ``check``'s exit code
    (None when there was no allocation to check). Logs stay in ``folder``.
    """
    knobs = knobs_of(name)
    start = time.perf_counter()
    counts = generate(knobs, folder)
    row: dict[str, Any] = {"name": name, "size": f"{knobs.children:,} x {knobs.units:,}",
                           "counts": counts, "generate_s": time.perf_counter() - start}
    out = folder / "out"
    command = [*pdps(), "allocate", *input_args(folder), "-o", str(out)]
    if time_limit is not None:
        command += ["--time-limit", str(time_limit)]
    row["allocate_rc"], row["wall_s"], row["peak_mib"] = timed(command, folder / "allocate.log")
    row["check_rc"] = None
    summary = out / "summary.json"
    if row["allocate_rc"] == 0 and summary.exists():
        figures = json.loads(summary.read_text(encoding="utf-8"))
        row.update({key: figures.get(key) for key in
                    ("status", "objective", "bound", "gap", "gap_pounds", "seconds")})
        check = subprocess.run([*pdps(), "check", "-a", str(out / "allocation.csv"),
                                *input_args(folder)], capture_output=True, text=True)
        (folder / "check.log").write_text(check.stdout + check.stderr, encoding="utf-8")
        row["check_rc"] = check.returncode
    if row["allocate_rc"] != 0:
        row["error"] = _tail(folder / "allocate.log")
    elif row["check_rc"] != 0:
        row["error"] = _tail(folder / "check.log") if row["check_rc"] is not None else \
            "allocate wrote no summary.json"
    return row


def _tail(log: Path, lines: int = 3) -> str:
    """The last lines of a log, joined, for a failure's row."""
    text = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return " | ".join([line for line in text if line.strip()][-lines:])


HEADER = (f"{'market':18} {'children x units':>17} {'status':>9} {'objective':>15} "
          f"{'gap':>22} {'solve s':>8} {'wall s':>7} {'peak MiB':>8} {'check':>5}")


def format_row(row: dict[str, Any]) -> str:
    """One table line; a failed ``allocate`` shows its exit code instead of figures."""
    if row["allocate_rc"] != 0 or "status" not in row:
        return (f"{row['name']:18} {row['size']:>17} allocate FAILED (exit "
                f"{row['allocate_rc']}) after {row['wall_s']:.1f} s, {row['peak_mib']:.0f} MiB")
    objective = f"£{row['objective']:,.2f}"
    gap = f"£{row['gap_pounds']:,.2f} ({row['gap']:.4%})"
    check = {0: "OK", None: "-"}.get(row["check_rc"], "FAIL")
    return (f"{row['name']:18} {row['size']:>17} {row['status']:>9} "
            f"{objective:>15} {gap:>22} {row['seconds'].get('solve', 0.0):8.2f} "
            f"{row['wall_s']:7.2f} {row['peak_mib']:8.0f} {check:>5}")


def list_markets() -> None:
    """Print each market's name, size, seed and the knobs it sets."""
    for name, args in MARKETS.items():
        knobs = knobs_of(name)
        tokens = shlex.split(args)  # every knob takes a value: flag, value, flag, value, ...
        pairs = zip(tokens[::2], tokens[1::2], strict=True)
        rest = " ".join(f"{flag} {value}" for flag, value in pairs
                        if flag not in ("--children", "--units", "--seed"))
        print(f"{name:18} {knobs.children:>6,} x {knobs.units:<7,} seed {knobs.seed:<4} {rest}")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run or write the chosen markets; 1 if any run failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", action="append", default=[], choices=list(MARKETS),
                        metavar="NAME", help="a market to run (repeatable; see --list)")
    parser.add_argument("--all", action="store_true",
                        help="every market, in --list order (several minutes; the 3,000 x "
                        "10,000 ones take the most time and memory)")
    parser.add_argument("--list", action="store_true", help="print the markets and stop")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="pdps allocate --time-limit (default: the policy's, 30 s)")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="keep each market's files, outputs and logs in DIR/NAME")
    parser.add_argument("--generate", type=Path, default=None, metavar="DIR",
                        help="only write one market's files to DIR (new or empty) and print "
                        "the pdps commands to run on them")
    args = parser.parse_args(argv)
    if args.list:
        list_markets()
        return 0
    names = list(MARKETS) if args.all else list(dict.fromkeys(args.market))
    if not names:
        parser.error("give --market NAME (repeatable), --all or --list")
    if args.generate is not None:
        out = args.generate
        if len(names) != 1:
            parser.error("--generate writes one market: give one --market")
        # A folder holding another market's files would mix the two (its offers.csv, say,
        # left beside this market's referrals, and passed to pdps by input_args).
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            parser.error(f"{out} is not a new or empty folder")
        print(f"{names[0]}: {generate(knobs_of(names[0]), out)}")
        command = " ".join(shlex.quote(part) for part in pdps())
        files = " ".join(shlex.quote(a) for a in input_args(out))
        print(f"{command} allocate {files} -o {shlex.quote(str(out / 'out'))}")
        print(f"{command} check -a {shlex.quote(str(out / 'out' / 'allocation.csv'))} {files}")
        return 0
    if args.keep is not None:
        taken = [n for n in names if (args.keep / n).exists()]
        if taken:
            parser.error(f"{args.keep} already holds {', '.join(taken)}: choose another --keep")

    load = os.getloadavg()[0]
    limit = "the policy's" if args.time_limit is None else f"{args.time_limit:g} s"
    print(f"engine commit {engine_commit()}; {' '.join(pdps())}; time limit {limit}; "
          f"{os.cpu_count()} CPUs, load average {load:.2f} before the run\n")
    print(HEADER, flush=True)
    rows = []
    for name in names:
        if args.keep is not None:
            folder = args.keep / name
            folder.mkdir(parents=True)
            rows.append(run_market(name, folder, args.time_limit))
        else:
            with tempfile.TemporaryDirectory(prefix=f"pdps-stress-{name}-") as tmp:
                rows.append(run_market(name, Path(tmp), args.time_limit))
        print(format_row(rows[-1]), flush=True)

    print()
    for row in rows:
        stages = ", ".join(f"{k} {v:.2f}" for k, v in (row.get("seconds") or {}).items())
        print(f"  {row['name']}: {row['counts']}; generated in {row['generate_s']:.1f} s"
              + (f"; stages (s): {stages}" if stages else ""))
        if "error" in row:
            print(f"    {row['error']}")
    failed = [r["name"] for r in rows if "error" in r]
    print(f"\nload average {os.getloadavg()[0]:.2f} after the run")
    if failed:
        print(f"FAILED: {', '.join(failed)} (allocate or check exited non-zero)")
        return 1
    print(f"all {len(rows)} allocated and checked (every exit 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
