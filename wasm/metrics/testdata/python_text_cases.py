"""Writes python_text_cases.json.gz: random strings over an alphabet of the
vectors' traps (Python whitespace, İ, Kelvin sign, Σ, combining marks, "-\\n",
HTML entities, punctuation, digits) with what the reference Python code makes
of them: tokenizer_13a without and with rstrip(), rouge_score's tokenizer
without and with NLTK's stemmer, and SQuAD's normalize_answer. It checks the
Go scanners against Python's own re engine. Run: python3 python_text_cases.py 7 3000
(Debian 12: python3 3.11 and python3-nltk 3.8)."""
import gzip, json, random, re, string, sys
from nltk.stem import porter
st = porter.PorterStemmer()
# tokenizer_13a as evaluate/sacrebleu define it
R = [(re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),
     (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),
     (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),
     (re.compile(r"([0-9])(-)"), r"\1 \2 ")]
def tok13a(line, rstrip):
    if rstrip: line = line.rstrip()
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for r, rep in R: line = r.sub(rep, line)
    return line.split()
def rouge_tok(text, stem):
    text = re.sub(r"[^a-z0-9]+", " ", text.lower())
    toks = re.split(r"\s+", text)
    if stem: toks = [st.stem(x) if len(x) > 3 else x for x in toks]
    return [x for x in toks if re.match(r"^[a-z0-9]+$", x)]
def squad_norm(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())
alpha = list("aAnNtThHeEsSyiIlLdgo 0123456789") + list(string.punctuation) + \
    ["\t","\n","\r","\x0b","\x0c","\x1c","\x1f","\x85","\xa0","\u2028","\u2029","\u3000","\u200b","\u2009",
     "-\n","<skipped>","&amp;","&quot;","&lt;","&gt;","&amp;lt;","İ","\u212a","Σ","σ","ς","\u0301","β","é","ß","ﬁ","…","–","’","_","½","²","一","😀","ǅ","Ⅻ","ⅻ","٣","\u00ad","·","ΑΣ","an","the","a","ing","ed","ies","ational"]
random.seed(int(sys.argv[1]))
out = []
for i in range(int(sys.argv[2])):
    s = "".join(random.choice(alpha) for _ in range(random.randint(0, 30)))
    out.append({"s": s, "t13a": tok13a(s, False), "t13a_r": tok13a(s, True), "rouge": rouge_tok(s, False),
                "rouge_stem": rouge_tok(s, True), "squad": squad_norm(s)})
with gzip.open("python_text_cases.json.gz", "wt", encoding="utf-8") as f:
    json.dump(out, f, ensure_ascii=False)
