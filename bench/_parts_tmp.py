import sys, time, os, tempfile
sys.argv = ["x"]
src = open("bench/documents.py").read().split("def main()")[0]
exec(src)
from chalicelib.adapters.documents import render
from chalicelib.domain.documents import SealedData
os.sched_setaffinity(0, {0})
work = Path(tempfile.mkdtemp())
pki = ensure_local_pki(work / "pki")
pipe = local_pipeline(pki)
store = work / "store"; store.mkdir()
cs = _contents(300); blank = _blank_pdf()
acc = dict(seal=0, layout=0, build=0, sign=0, write=0, blank=0)
clock = time.perf_counter
for r in range(4):
    for c in cs:
        t0 = clock()
        text = pipe.sealer.seal(SealedData.from_content(c))
        t1 = clock()
        w = render.build_writer(c, text)
        t2 = clock()
        pdf = pipe.signer.sign_writer(w)
        t3 = clock()
        (store / f"{c.document_id}.pdf").write_bytes(pdf)
        t4 = clock()
        pipe.signer.sign_pdf(blank)
        t5 = clock()
        if r:
            for k, v in zip(acc, (t1-t0, 0, t2-t1, t3-t2, t4-t3, t5-t4)): acc[k] += v
n = 3*len(cs)
print({k: round(v/n*1e3, 3) for k, v in acc.items()})
from chalicelib.adapters.documents import qr
print("QR versions", sorted({qr.encode(pipe.sealer.seal(SealedData.from_content(c))).version for c in cs}), "len", max(len(pipe.sealer.seal(SealedData.from_content(c))) for c in cs))
