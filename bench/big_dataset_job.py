"""Helper of bench/big-dataset.sh.
  big_dataset_job.py URL API_PID DATASET LABEL max|cancel STEPS   one job; prints a JSON line
  big_dataset_job.py summarize RESULTS.jsonl URL BIG_DATASET_ID      the table
A job runs with the API's defaults (the classic recipe) plus training.maxSteps (max) or is cancelled after STEPS
steps (cancel). While it runs, the API's and the job's training process's /proc/PID/status are read twice a second."""
import json, os, statistics, sys, time, urllib.request


def call(url, path, body=None):
    req = urllib.request.Request(url + path, data=None if body is None else json.dumps(body).encode(),
                                 method="GET" if body is None else "POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def status(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return {l.split(":")[0]: int(l.split()[1]) * 1024 for l in f if l.split(":")[0] in ("VmRSS", "VmHWM", "RssAnon", "RssFile")}
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def children(api_pid):
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if ppid == api_pid and b"run-job" in cmd:
            found.append(int(p))
    return found


def job(url, api_pid, dataset, label, mode, steps):
    training = {"maxSteps": steps} if mode == "max" else {}
    job_id = call(url, "/api/training-jobs", {"datasetId": dataset, "modelName": label, "training": training})["id"]
    start = time.time()
    speeds, cursor, threads, cancelled = [], 0, None, False
    peak = {"api": {}, "child": {}}
    prepare_phases = {}
    while True:
        for who, pids in (("api", [api_pid]), ("child", children(api_pid))):
            for p in pids:
                s = status(p)
                if s:
                    for k, v in s.items():
                        peak[who][k] = max(peak[who].get(k, 0), v)
        page = call(url, f"/api/training-jobs/{job_id}/events?after={cursor}")
        for e in page["items"]:
            cursor = max(cursor, e["id"])
            d = e.get("data", {})
            if e["type"] == "progress" and d.get("tokensPerSecond") and d.get("validPerplexity") is None:   # step reports, not epoch ends
                speeds.append((d["step"], d["tokensPerSecond"]))
            if e["type"] == "process" and d.get("event") == "started":
                threads = d.get("torchThreads")
        for p in call(url, f"/api/datasets/{dataset}").get("preparations", []):
            if p["status"] == "preparing":
                prepare_phases.setdefault(p.get("phase"), time.time())
        state = call(url, f"/api/training-jobs/{job_id}")["status"]
        if state in ("succeeded", "failed", "cancelled"):
            break
        if mode == "cancel" and not cancelled and speeds and speeds[-1][0] >= steps:
            call(url, f"/api/training-jobs/{job_id}/cancel", {})
            cancelled = True
        time.sleep(0.5)
    final = call(url, f"/api/training-jobs/{job_id}")
    tps = [s for _, s in speeds[3:]] or [s for _, s in speeds]
    return {"label": label, "dataset": dataset, "mode": mode, "status": state, "failureReason": final.get("failureReason"),
            "lastStep": speeds[-1][0] if speeds else 0, "childTorchThreads": threads, "reports": len(tps),
            "tokensPerSecond": round(statistics.median(tps), 1) if tps else None, "seconds": round(time.time() - start, 1),
            "apiPeakRssBytes": peak["api"].get("VmHWM", 0), "apiRssMaxBytes": peak["api"].get("VmRSS", 0),
            "childPeakRssBytes": peak["child"].get("VmHWM", 0), "childRssMaxBytes": peak["child"].get("VmRSS", 0),
            "childRssFileMaxBytes": peak["child"].get("RssFile", 0), "childRssAnonMaxBytes": peak["child"].get("RssAnon", 0),
            "preparePhasesSeen": sorted(k for k in prepare_phases if k)}


def summarize(path, url, big_id):
    rows = [json.loads(l) for l in open(path) if l.startswith("{")]
    mib = lambda b: f"{b / 2**20:.0f} MiB"
    d = call(url, f"/api/datasets/{big_id}")
    prep = [p for p in d["preparations"] if p["status"] == "ready"][0]
    print(f"dataset {d['name']}: {d['bytes'] / 1e6:.0f} MB, {prep['tokens']['train']} train tokens, {prep['distinctTokens']} distinct; "
          f"preparation {prep['seconds']:.0f} s = {d['bytes'] / 1e6 / prep['seconds']:.1f} MB/s (count + encode, two passes over train)")
    for r in rows:
        if r.get("phase") == "upload":
            print(f"upload {r['dataset']}: {r['bytes'] / 1e6:.0f} MB in {r['seconds']} s ({r['mbPerSecond']} MB/s), API RSS <= {mib(r['apiRssMaxBytes'])}")
    main = next(r for r in rows if r.get("label") == "big-main")
    print(f"main job ({main['mode']} {main['lastStep']} steps, {main['status']}, {main['seconds']} s incl. preparation): "
          f"API peak RSS {mib(main['apiPeakRssBytes'])}; child peak RSS {mib(main['childPeakRssBytes'])} "
          f"(max sampled RSS {mib(main['childRssMaxBytes'])}: anon {mib(main['childRssAnonMaxBytes'])}, mapped files {mib(main['childRssFileMaxBytes'])}); "
          f"{main['tokensPerSecond']} tok/s at {main['childTorchThreads']} thread(s)")
    big = [r["tokensPerSecond"] for r in rows if str(r.get("label", "")).startswith("big-r")]
    kjv = [r["tokensPerSecond"] for r in rows if str(r.get("label", "")).startswith("kjv-r")]
    bare = [r["tokensPerSecond"] for r in rows if str(r.get("contender", "")).startswith("bare")]
    if big and kjv and bare:
        b, k, m = statistics.median(big), statistics.median(kjv), statistics.median(bare)
        print(f"tokens/s (medians, interleaved): big token files {b:.0f} {big}, KJV token files {k:.0f} {kjv}, "
              f"bare loop in-memory {m:.0f} {bare}; big / KJV = {b / k:.2f}x, big / bare = {b / m:.2f}x")
    trainer = {src: [r["tokensPerSecond"] for r in rows if r.get("source") == src] for src in ("memory", "kjv", "big")}
    if all(trainer.values()):
        m, k, b = (statistics.median(trainer[s]) for s in ("memory", "kjv", "big"))
        print(f"trainer in the bench console, same threads and spec (medians, interleaved): KJV in memory {m:.0f} {trainer['memory']}, "
              f"KJV token files {k:.0f} {trainer['kjv']}, 1 GB token files {b:.0f} {trainer['big']}; "
              f"KJV files / in memory = {k / m:.3f}x, 1 GB files / KJV in memory = {b / m:.3f}x")
    print(f"peak RSS over all jobs: API {mib(max(r.get('apiPeakRssBytes', 0) for r in rows))}, "
          f"training processes {mib(max(r.get('childPeakRssBytes', 0) for r in rows))}")


if __name__ == "__main__":
    if sys.argv[1] == "summarize":
        summarize(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        print(json.dumps(job(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))), flush=True)
