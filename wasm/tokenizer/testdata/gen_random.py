# Random texts stressing the pre-tokenizer, NFC, added tokens and byte merges;
# writes texts.json for gen_random.mjs. Usage: python3 gen_random.py N SEED
import random, json, sys
random.seed(int(sys.argv[2]) if len(sys.argv)>2 else 1)
pieces = ["the"," the","The","'s","'S","'re","'RE","'ll","'Ll","'d","'m","'t","'ve","'x","'",
 " ","  ","   ","\t","\n","\r\n","\r","\n\n"," \n","\u00a0","\u3000","\u2028","\u0085","\ufeff","\u200b","\u180e","\u000b","\u000c",
 "a","Z","é","e\u0301","A\u030a","\u0301","\u1100\u1161","한국어","血压","中文","ｆｕｌｌ","Ⅻ","²","½","١٢٣","१२३","𝟙","𐍈",
 "😀","👨‍👩‍👧","❤️","🩺","💊","🇺🇸","ſ","K","ß","ﬁ","İ","ǅ",
 "0","1","42","3.14","1,000","-","--","...","!?","(",")","[","]","{","}","<",">","<|","|>","/","\\","\"","#","$","%","&","*","@","_","~","`","^","=","+",
 "<|im_start|>","<|im_end|>","<|endoftext|>","<tool_call>","</tool_call>","<|fim_prefix|>","<|im_start","im_end|>","<think>",
 "mg","dose","patient","kidney","failure","hypertension","acetaminophen","antidisestablishmentarianism",
 "ا","ب","مرحبا","שלום","Привет","Ελληνικά","ไทย","ক","ᄀ","ㄱ","ア","カタカナ","ｶﾀｶﾅ",
 "\x00","\x01","\x7f","\x1b","\ud7ff","\ue000","\U0010fffd","\U0001f9ea",
]
def s():
    n=random.randint(1,25)
    out=[]
    for _ in range(n):
        r=random.random()
        if r<0.8: out.append(random.choice(pieces))
        elif r<0.9: out.append(chr(random.randint(0x20,0x2fff)))
        elif r<0.95: out.append(chr(random.randint(0x3000,0xd7ff)))
        else: out.append(chr(random.choice([random.randint(0xe000,0xffff), random.randint(0x10000,0x10ffff)])))
    return "".join(out)
N=int(sys.argv[1])
texts=[s() for _ in range(N)]
# long runs
texts += [" "*k + "x" for k in range(1,40)] + ["\n"*k+" "*k for k in range(1,20)] + ["a"*k for k in (100,300,1000)] + ["1"*50, "😀"*30, "é"*200]
json.dump(texts, open('texts.json','w'), ensure_ascii=False)
