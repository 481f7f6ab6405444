"""Trains job specs through a running service and prints one JSON line per job in the ablation's row format.

Reads "label<TAB>spec-json" lines on stdin; uploads the corpus directory (train/valid/test.txt) once; queues every spec
as a job (the spec's own preset and fields, plus the dataset and a model name) at once, so the worker runs them as its
Concurrency allows; polls until all have ended; reads each job's model record for its metrics.
    service-jobs.py <url> <corpus dir> <budget minutes>
"""
import json
import sys
import time
import urllib.request
import uuid


def call(url, method="GET", body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=600) as r:
        return json.load(r)


def upload(url, corpus):
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\nablation-kjv\r\n'.encode()]
    for split in ("train", "valid", "test"):
        with open(f"{corpus}/{split}.txt", "rb") as f:
            content = f.read()
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{split}"; filename="{split}.txt"\r\n'
                     f'Content-Type: text/plain\r\n\r\n'.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return call(f"{url}/api/datasets", "POST", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"})["id"]


def main():
    url, corpus, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
    rows = [line.rstrip("\n").split("\t", 1) for line in sys.stdin if line.strip()]
    dataset = upload(url, corpus)
    jobs = {}
    for label, spec in rows:
        body = json.loads(spec)
        body.update({"datasetId": dataset, "modelName": f"ablation-{label}"})
        job = call(f"{url}/api/training-jobs", "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
        jobs[label] = job["id"]
        print(f"[service] {label}: job {job['id']} queued", file=sys.stderr)
    deadline = time.time() + budget * 60 * len(rows) + 3600
    ended = {}
    while len(ended) < len(jobs) and time.time() < deadline:
        time.sleep(20)
        for label, job_id in jobs.items():
            if label in ended:
                continue
            job = call(f"{url}/api/training-jobs/{job_id}")
            if job["status"] in ("succeeded", "failed", "cancelled"):
                ended[label] = job
                print(f"[service] {label}: {job['status']}", file=sys.stderr)
    for label, _ in rows:
        job = ended.get(label)
        if job is None or job["status"] != "succeeded":
            print(json.dumps({"label": label, "status": job["status"] if job else "timed out",
                              "failure": job.get("failureReason") if job else None}))
            continue
        produced = job["producedModel"]
        model = call(f"{url}/api/models/{produced['name']}")
        metrics = next(v for v in model["versions"] if v["version"] == produced["version"])["metrics"]
        started = time.mktime(time.strptime(job["startedAt"][:19], "%Y-%m-%dT%H:%M:%S"))
        finished = time.mktime(time.strptime(job["finishedAt"][:19], "%Y-%m-%dT%H:%M:%S"))
        print(json.dumps({
            "label": label, "status": "succeeded", "via": "service",
            "parameters": metrics.get("parameters") or 0,
            "steps": metrics.get("steps"), "validations": len(metrics.get("validPerplexityHistory") or []),
            "stopReason": metrics.get("stopReason"), "testPpl": metrics.get("testPerplexity"),
            "bestValidPpl": metrics.get("bestValidPerplexity"), "testBitsPerCharacter": metrics.get("testBitsPerCharacter"),
            "tokensPerSecond": metrics.get("tokensPerSecond"), "seconds": finished - started,
            "vocabHash": metrics.get("vocabularySize"), "model": job["producedModel"]["ref"]}))


if __name__ == "__main__":
    main()
