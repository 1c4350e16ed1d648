"""Dumps the CPython string behaviour that medqa/wasm/metrics emulates, for
every code point, into py311_unicode.json (run with Debian's /usr/bin/python3,
CPython 3.11, Unicode 14.0):

  lower        code point -> str.lower() of that one character, where it differs
  space        ranges where str.isspace()
  word         ranges where re's \\w matches (str.isalnum() or "_")
  cased_final  ranges of c where (c + "Σ").lower() ends in final sigma:
               Cased and not Case_Ignorable
  ignorable    ranges of c skipped by the final-sigma rule: Case_Ignorable
"""
import json
import re
import sys
import unicodedata

WORD = re.compile(r"\w")


def ranges(pred):
    out, start = [], None
    for cp in range(0x110001):
        ok = cp < 0x110000 and not 0xD800 <= cp <= 0xDFFF and pred(chr(cp))
        if ok and start is None:
            start = cp
        elif not ok and start is not None:
            out.append([start, cp - 1])
            start = None
    return out


def final_after(c):
    return (c + "Σ").lower()[-1] == "ς"


def ignorable(c):
    return ("A" + c + "Σ").lower()[-1] == "ς" and not final_after(c)


chars = (chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF)
out = {
    "python": sys.version.split()[0],
    "unicode": unicodedata.unidata_version,
    "lower": {str(ord(c)): [ord(x) for x in c.lower()] for c in chars if c.lower() != c},
    "space": ranges(str.isspace),
    "word": ranges(lambda c: WORD.match(c) is not None),
    "cased_final": ranges(final_after),
    "ignorable": ranges(ignorable),
}
with open(sys.argv[1] if len(sys.argv) > 1 else "py311_unicode.json", "w") as f:
    json.dump(out, f, separators=(",", ":"))
