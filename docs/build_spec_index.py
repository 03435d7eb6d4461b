"""Build docs/spec-codes.md, an index of the spec's codes, from the spec kept beside this repository.

    python docs/build_spec_index.py [--spec ../shared/spec]          # rewrite docs/spec-codes.md
    python docs/build_spec_index.py [--spec ../shared/spec] --check  # exit 1 if it is not what the spec gives

The code and the docs cite the spec's mechanisms (M27), stylised facts (SF14) and scenarios (S8), whose text is
in ../shared/spec/thesis-mechanisms.md, outside the repository. The index gives each code its title and the thesis
lines its claim or evidence cites, so a reader of a clone can follow a citation to the thesis without the spec.
"""

import argparse
import pathlib
import re
import sys

HERE = pathlib.Path(__file__).resolve().parent
OUT = HERE / "spec-codes.md"
DEFAULT_SPEC = HERE.parents[1] / "shared" / "spec"
ENTRY = re.compile(r"^(?:\*\*|### )(M\d+|SF\d+|S\d+)\. (.+?)(?:\*\*)?$")
LINE_REF = re.compile(r"\bL(\d{2,4})(?:\s*[–-]\s*L?(\d{2,4}))?")
RESPONDENT = re.compile(r"\[((?:P|DE|O)\d+)\]")
HEAD = """# The spec's codes: mechanisms, stylised facts and scenarios

The code and the docs cite the project's spec: mechanisms `M1`-`M76`, stylised facts `SF1`-`SF43` and policy
scenarios `S1`-`S19` of `thesis-mechanisms.md`, kept beside this repository (`../shared/spec/`), not in it. This
index, built from it by `docs/build_spec_index.py`, gives each code its title, the thesis lines (`L1006`, see
docs/thesis-index.md for the chapters) and the respondents its entry cites, so that a citation
can be followed to the thesis. A letter after a code (`M41b`, `SF9b`) is this project's own subdivision of it,
described where it is used. The titles are the spec's words; the spec has the full rule, evidence and test.
"""


def entries(spec: pathlib.Path) -> list[tuple[str, str, str, str]]:
    """(code, title, thesis lines, respondents) for every M, SF and S entry of the spec, in its order."""
    text = (spec / "thesis-mechanisms.md").read_text(encoding="utf-8").splitlines()
    found, current = [], None
    for line in text:
        if m := ENTRY.match(line.strip()):
            current = [m.group(1), m.group(2).rstrip("*").strip(), [], []]
            found.append(current)
        elif line.startswith("#"):
            current = None
        elif current is not None:
            current[2] += [f"L{a}" + (f"-{b}" if b else "") for a, b in LINE_REF.findall(line)]
            current[3] += RESPONDENT.findall(line)
    return [(code, title, ", ".join(dict.fromkeys(lines)), ", ".join(dict.fromkeys(who)))
            for code, title, lines, who in found]


def render(rows: list[tuple[str, str, str, str]]) -> str:
    out = [HEAD]
    for kind, label in (("M", "Mechanisms"), ("SF", "Stylised facts"), ("S", "Scenarios")):
        out += [f"\n## {label}\n", "| Code | Title | Thesis lines | Respondents |", "|---|---|---|---|"]
        out += [f"| {c} | {t.replace('|', '/')} | {lines or '-'} | {who or '-'} |"
                for c, t, lines, who in rows if re.fullmatch(f"{kind}\\d+", c)]
    return "\n".join(out) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=pathlib.Path, default=DEFAULT_SPEC)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if not (args.spec / "thesis-mechanisms.md").is_file():
        print(f"no spec at {args.spec} (thesis-mechanisms.md not found)", file=sys.stderr)
        return 2
    page = render(entries(args.spec))
    if args.check:
        if OUT.read_text(encoding="utf-8") != page:
            print(f"{OUT} is not what the spec gives: run python docs/build_spec_index.py", file=sys.stderr)
            return 1
        print(f"{OUT.name} is up to date")
        return 0
    OUT.write_text(page, encoding="utf-8")
    print(f"wrote {OUT} ({page.count(chr(10) + '| ') - 3} codes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
