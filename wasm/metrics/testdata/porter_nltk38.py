"""Writes porter_nltk38.tsv.gz: word<TAB>nltk PorterStemmer().stem(word) for
every rouge token of MedQuAD (files/medquad_qa.csv.gz, the argument) plus the
rule examples of the Porter paper, NLTK's irregular forms and a few non-ASCII
and mixed-case words. Run with Debian 12's python3-nltk (nltk 3.8)."""
import csv, gzip, re, sys
from nltk.stem import porter

st = porter.PorterStemmer()
words = set()
with (gzip.open if sys.argv[1].endswith(".gz") else open)(sys.argv[1], "rt", newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        words.update(re.sub(r"[^a-z0-9]+", " ", (row["question"] + " " + row["answer"]).lower()).split())
extra = """sky skies dying lying tying news innings inning outings outing cannings canning howe proceed
exceed succeed ties dies spies flies died spied tied cried agreed feed bleed bled plastered motoring sing
conflated troubled sized hopping tanned falling hissing fizzed failing filing happy enjoy sky spy fly try
relational conditional rational valenci hesitanci digitizer conformabli radicalli differentli vileli
analogousli vietnamization predication operator feudalism decisiveness hopefulness callousness formaliti
sensitiviti sensibiliti triplicate formative formalize electriciti electrical hopeful goodness revival
allowance inference airliner gyroscopic adjustable defensible irritant replacement adjustment dependent
adoption homologou communism activate angulariti homologous effective bowdlerize probate rate cease controll
roll generalli geology theology archaeology fulli hopefulli yyyy yyy ayyy oed ing eed ied ies aied bies eing
eeing syzygy toy y by ivy ed""".split()
extra += ["cafés", "naïvely", "İİİİ", "İnfections", "ΣΟΦΙΑ", "Running", "NEWS", "News", "Skies", "dyİng",
          "résumés", "über", "aÿy", "yİes", "ñññ"]
with gzip.open("porter_nltk38.tsv.gz", "wt", encoding="utf-8") as f:
    for w in sorted(words) + extra:
        f.write(w + "\t" + st.stem(w) + "\n")
