#!/usr/bin/env python3
"""Sync throughput as users run it (scripts/bench-outside starts the servers and builds).

For each shape (child database > parent database, backlog or live): two `tributary start`
processes of the release binary, each database on its own durable server, the clinic
registered and loaded; then clinical rows (patients with a visit, an encounter and 50 obs
each) are written at the clinic, either while it is stopped (backlog: then it is started)
or while both run (live). Measured: time from the clinic's start (backlog) or the first
write (live) until the parent holds every obs, rows/s, time to the first row at the parent,
and the peak RSS of each process over that time. The clinic's clinical ids are offset by
1,000,000, so every clinical reference is translated. For PostgreSQL pairs, the same rows
through PostgreSQL logical replication between the same two servers, in the same run.

Environment: TRIBUTARY (the binary), BENCH_PG_PARENT, BENCH_PG_CHILD, BENCH_MY_PARENT,
BENCH_MY_CHILD (admin URLs), BENCH_OBS (default 100000), BENCH_SHAPES (comma-separated,
e.g. "postgres>postgres:backlog,mariadb>postgres:live"; default: all twelve).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BINARY = os.environ["TRIBUTARY"]
OBS_PER_PATIENT = 50
OFFSET = 1_000_000
ALL_SHAPES = [f"{c}>{p}:{m}" for m in ("backlog", "live") for p in ("postgres", "mariadb") for c in ("postgres", "mariadb", "sqlite")]


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def parse(url):
    m = re.match(r"(\w+)://([^@/]+)@([^:/]+):(\d+)/(\w+)", url)
    return {"scheme": m[1], "user": m[2], "host": m[3], "port": m[4], "db": m[5]}


class Database:
    """A database of one shape: created on its server, reached by its command-line client."""

    def __init__(self, kind, admin, name, workdir):
        self.kind, self.name = kind, name
        if kind == "sqlite":
            self.path = os.path.join(workdir, name + ".db")
            self.url = "sqlite:" + self.path
            return
        self.server = parse(admin)
        self.url = f"{'postgres' if kind == 'postgres' else 'mysql'}://{self.server['user']}@{self.server['host']}:{self.server['port']}/{name}"
        self.admin(f"DROP DATABASE IF EXISTS {name}")
        self.admin(f"CREATE DATABASE {name}" + (" CHARACTER SET utf8mb4" if kind == "mariadb" else ""))

    def client(self, database=None):
        if self.kind == "sqlite":
            return ["sqlite3", "-bail", self.path]
        s = self.server
        if self.kind == "postgres":
            return ["psql", "-q", "-X", "-v", "ON_ERROR_STOP=1", "-h", s["host"], "-p", s["port"], "-U", s["user"], "-d", database or self.name]
        return ["mariadb", "--no-defaults", "-h", s["host"], "-P", s["port"], "-u", s["user"], database or self.name]

    def admin(self, sql):
        subprocess.run(self.client("postgres" if self.kind == "postgres" else "mysql"), input=sql.encode(), check=True, capture_output=True)

    def run(self, sql):
        done = subprocess.run(self.client(), input=sql.encode() if isinstance(sql, str) else sql, capture_output=True)
        if done.returncode != 0:
            raise SystemExit(f"bench-outside: {self.kind} client failed on {self.name}: {done.stderr.decode()[-2000:]}")

    def scalar(self, sql):
        if self.kind == "sqlite":
            out = subprocess.run(self.client() + [sql], check=True, capture_output=True).stdout
        elif self.kind == "postgres":
            out = subprocess.run(self.client() + ["-A", "-t", "-c", sql], check=True, capture_output=True).stdout
        else:
            out = subprocess.run(self.client() + ["-N", "-B", "-e", sql], check=True, capture_output=True).stdout
        return out.decode().strip()

    def offset_clinical_ids(self):
        tables = ["person", "visit", "encounter", "obs"]
        if self.kind == "postgres":
            self.run("".join(f"SELECT setval(pg_get_serial_sequence('{t}', '{t}_id'), {OFFSET});" for t in tables))
        elif self.kind == "mariadb":
            self.run("".join(f"ALTER TABLE {t} AUTO_INCREMENT = {OFFSET};" for t in tables))
        else:
            self.run("".join(f"UPDATE sqlite_sequence SET seq = {OFFSET} WHERE name = '{t}';"
                             f"INSERT INTO sqlite_sequence (name, seq) SELECT '{t}', {OFFSET} WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = '{t}');"
                             for t in tables))


def clinical_sql(kind, prefix, patients, concepts):
    """Patients with a visit, an encounter and their obs, one transaction per patient."""
    f = "false" if kind == "postgres" else "0"
    now = "'2026-11-22 10:00:00'"
    lines = []
    for p in range(patients):
        person = f"{prefix}-p{p}-".ljust(36, "0")
        visit = f"{prefix}-v{p}-".ljust(36, "0")
        encounter = f"{prefix}-e{p}-".ljust(36, "0")
        pid = f"(SELECT person_id FROM person WHERE uuid = '{person}')"
        eid = f"(SELECT encounter_id FROM encounter WHERE uuid = '{encounter}')"
        lines.append("BEGIN;" if kind != "mariadb" else "START TRANSACTION;")
        lines.append(f"INSERT INTO person (gender, creator, date_created, voided, uuid) VALUES ('F', 1, {now}, {f}, '{person}');")
        lines.append(f"INSERT INTO patient (patient_id, creator, date_created, voided) VALUES ({pid}, 1, {now}, {f});")
        lines.append(f"INSERT INTO visit (patient_id, visit_type_id, date_started, creator, date_created, voided, uuid) "
                     f"VALUES ({pid}, (SELECT MIN(visit_type_id) FROM visit_type), {now}, 1, {now}, {f}, '{visit}');")
        lines.append(f"INSERT INTO encounter (encounter_type, patient_id, location_id, visit_id, encounter_datetime, creator, date_created, voided, uuid) "
                     f"VALUES ((SELECT MIN(encounter_type_id) FROM encounter_type), {pid}, (SELECT MIN(location_id) FROM location), "
                     f"(SELECT visit_id FROM visit WHERE uuid = '{visit}'), {now}, 1, {now}, {f}, '{encounter}');")
        rows = []
        for i in range(OBS_PER_PATIENT):
            uuid = f"{prefix}-o{p}-{i}-".ljust(36, "0")
            rows.append(f"({pid}, {concepts[i % len(concepts)]}, {eid}, {now}, (SELECT MIN(location_id) FROM location), {i}.25, 1, {now}, {f}, '{uuid}', 'FINAL')")
        lines.append("INSERT INTO obs (person_id, concept_id, encounter_id, obs_datetime, location_id, value_numeric, creator, date_created, voided, uuid, status) VALUES "
                     + ", ".join(rows) + ";")
        lines.append("COMMIT;")
    # The sqlite3 shell waits for the running node's writes instead of failing on them.
    return (".timeout 60000\n" if kind == "sqlite" else "") + "\n".join(lines) + "\n"


class Node:
    def __init__(self, name, config, workdir):
        self.name, self.config = name, config
        self.log = open(os.path.join(workdir, name + ".log"), "ab")
        self.process = None

    def start(self):
        self.process = subprocess.Popen([BINARY, "start", "--config", self.config], stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def status(self):
        out = subprocess.run([BINARY, "status", "--config", self.config, "--json"], capture_output=True, check=True).stdout
        return json.loads(out)

    def reset_peak(self):
        # Writing 5 to clear_refs resets the peak RSS (VmHWM) of the process (Linux).
        try:
            with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass

    def peak_mb(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
        return -1


def wait_until(predicate, timeout, what, interval=0.25):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise SystemExit(f"bench-outside: timed out waiting for {what}")


def admin_for(kind, side):
    if kind == "sqlite":
        return None
    return os.environ[f"BENCH_{'PG' if kind == 'postgres' else 'MY'}_{side.upper()}"]


def load_kit(db):
    subprocess.run([BINARY, "load-openmrs", "--database", db.url, "--data", "core,sample"], check=True, capture_output=True)


def run_shape(shape, obs, workdir):
    (child_kind, parent_kind), mode = shape.split(":")[0].split(">"), shape.split(":")[1]
    tag = f"{child_kind[:2]}{parent_kind[:2]}{mode[:2]}{os.getpid()}"
    parent_db = Database(parent_kind, admin_for(parent_kind, "parent"), "bp_" + tag, workdir)
    child_db = Database(child_kind, admin_for(child_kind, "child"), "bc_" + tag, workdir)
    load_kit(parent_db)
    load_kit(child_db)
    child_db.offset_clinical_ids()
    port = free_port()
    parent_cfg, child_cfg = os.path.join(workdir, f"parent-{tag}.yaml"), os.path.join(workdir, f"child-{tag}.yaml")
    with open(parent_cfg, "w") as f:
        f.write(f"node: {{ id: central, group: central }}\ndatabase: {parent_db.url}\nlisten: 127.0.0.1:{port}\n"
                f"registration: {{ tokens: [bench] }}\nsync: {{ interval: 1s }}\n")
    with open(child_cfg, "w") as f:
        f.write(f"node: {{ id: clinic-1, group: clinic }}\ndatabase: {child_db.url}\n"
                f"parent: {{ url: 'http://127.0.0.1:{port}', registration_token: bench }}\nsync: {{ interval: 1s }}\n")
    parent, child = Node("parent-" + tag, parent_cfg, workdir), Node("child-" + tag, child_cfg, workdir)
    parent.start()

    def healthy():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read() == b"ok"
        except OSError:
            return False
    wait_until(healthy, 300, "the parent to serve")
    child.start()
    wait_until(lambda: child.status().get("initial_load") == "done", 900, "the clinic's initial load")
    patients = max(1, obs // OBS_PER_PATIENT)
    rows = patients * (4 + OBS_PER_PATIENT)
    prefix = "x" + tag
    concepts = [int(c) for c in child_db.scalar("SELECT concept_id FROM concept ORDER BY concept_id LIMIT 20").split()]
    sql = clinical_sql(child_kind, prefix, patients, concepts)
    expected = patients * OBS_PER_PATIENT
    count_sql = f"SELECT COUNT(*) FROM obs WHERE uuid LIKE '{prefix}-%'"
    writer_seconds = None
    if mode == "backlog":
        child.stop()
        t = time.monotonic()
        child_db.run(sql)
        writer_seconds = time.monotonic() - t
        parent.reset_peak()
        start = time.monotonic()
        child.start()
        writer = None
    else:
        parent.reset_peak()
        child.reset_peak()
        start = time.monotonic()
        # From a file: written into a pipe, the whole script had to be taken in (the writer all
        # but done) before the clock's loop began.
        script = os.path.join(workdir, f"writer-{tag}.sql")
        with open(script, "w") as f:
            f.write(sql)
        writer = subprocess.Popen(child_db.client(), stdin=open(script, "rb"), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    peaks = {"parent": 0, "child": 0}
    deadline = start + 3600
    while time.monotonic() < deadline:
        if writer is not None and writer_seconds is None and writer.poll() is not None:
            if writer.returncode != 0:
                raise SystemExit(f"bench-outside: the writer failed: {writer.stderr.read().decode()}")
            writer_seconds = time.monotonic() - start
        got = int(parent_db.scalar(count_sql) or 0)
        if got > 0 and first is None:
            first = time.monotonic() - start
        for side, node in (("parent", parent), ("child", child)):
            peaks[side] = max(peaks[side], node.peak_mb())
        if got >= expected:
            break
        time.sleep(0.1)
    elapsed = time.monotonic() - start
    if writer is not None:
        writer.wait()
        writer_seconds = writer_seconds or elapsed
    got = int(parent_db.scalar(count_sql) or 0)
    child.stop()
    parent.stop()
    if got < expected:
        raise SystemExit(f"bench-outside: {shape}: the parent holds {got} of {expected} obs after {elapsed:.0f} s")
    result = {"shape": shape, "rows": rows, "seconds": round(elapsed, 1), "rows_per_s": round(rows / elapsed),
              "first_row_s": round(first or elapsed, 1), "writer_s": round(writer_seconds, 1),
              "behind_writer_s": round(elapsed - writer_seconds, 1) if mode == "live" else None,
              "peak_rss_mb": peaks}
    if child_kind == "postgres" and parent_kind == "postgres":
        result["logical_s"] = logical_replication(sql, expected, prefix, workdir, tag)
        result["ratio_to_logical"] = round(result["logical_s"] / elapsed, 2)
    for db in (parent_db, child_db):
        if db.kind != "sqlite":
            db.admin(f"DROP DATABASE IF EXISTS {db.name}")
    return result


def logical_replication(sql, expected, prefix, workdir, tag):
    """The same rows, written at a publisher on the clinic's server, to a subscriber on the parent's."""
    name = "bl_" + tag
    publisher = Database("postgres", os.environ["BENCH_PG_CHILD"], name, workdir)
    subscriber = Database("postgres", os.environ["BENCH_PG_PARENT"], name, workdir)
    load_kit(publisher)
    load_kit(subscriber)
    publisher.run(f"CREATE PUBLICATION {name} FOR TABLE person, patient, visit, encounter, obs;")
    s = publisher.server
    subscriber.run(f"CREATE SUBSCRIPTION {name} CONNECTION 'host={s['host']} port={s['port']} dbname={name} user={s['user']}' "
                   f"PUBLICATION {name} WITH (copy_data = false, enabled = false);")
    publisher.run(sql)
    start = time.monotonic()
    subscriber.run(f"ALTER SUBSCRIPTION {name} ENABLE;")
    count_sql = f"SELECT COUNT(*) FROM obs WHERE uuid LIKE '{prefix}-%'"
    wait_until(lambda: int(subscriber.scalar(count_sql) or 0) >= expected, 3600, "logical replication", interval=0.05)
    elapsed = time.monotonic() - start
    subscriber.run(f"ALTER SUBSCRIPTION {name} DISABLE; ALTER SUBSCRIPTION {name} SET (slot_name = NONE); DROP SUBSCRIPTION {name};")
    publisher.run(f"SELECT pg_drop_replication_slot('{name}');")
    publisher.admin(f"DROP DATABASE IF EXISTS {name}")
    subscriber.admin(f"DROP DATABASE IF EXISTS {name}")
    return round(elapsed, 1)


def latency(probes, workdir):
    """A commit at a clinic (SQLite) until visible at the central (PostgreSQL) through a district
    (MariaDB), all three running with sync.interval 1s, while a background load of patients
    runs at the clinic: p50 and p99 over single-patient transactions."""
    tag = f"lat{os.getpid()}"
    central_db = Database("postgres", os.environ["BENCH_PG_PARENT"], "lc_" + tag, workdir)
    district_db = Database("mariadb", os.environ["BENCH_MY_PARENT"], "ld_" + tag, workdir)
    clinic_db = Database("sqlite", None, "lk_" + tag, workdir)
    for db in (central_db, district_db, clinic_db):
        load_kit(db)
    clinic_db.offset_clinical_ids()
    central_port, district_port = free_port(), free_port()
    configs = {
        "central": f"node: {{ id: central, group: central }}\ndatabase: {central_db.url}\nlisten: 127.0.0.1:{central_port}\n"
                   f"registration: {{ tokens: [bench] }}\nsync: {{ interval: 1s }}\n",
        "district": f"node: {{ id: district, group: district }}\ndatabase: {district_db.url}\nlisten: 127.0.0.1:{district_port}\n"
                    f"registration: {{ tokens: [bench] }}\nparent: {{ url: 'http://127.0.0.1:{central_port}', registration_token: bench }}\n"
                    f"sync: {{ interval: 1s }}\n",
        "clinic": f"node: {{ id: clinic-1, group: clinic }}\ndatabase: {clinic_db.url}\n"
                  f"parent: {{ url: 'http://127.0.0.1:{district_port}', registration_token: bench }}\nsync: {{ interval: 1s }}\n",
    }
    nodes = {}
    for name, text in configs.items():
        path = os.path.join(workdir, f"{name}-{tag}.yaml")
        with open(path, "w") as f:
            f.write(text)
        nodes[name] = Node(f"{name}-{tag}", path, workdir)
    nodes["central"].start()
    nodes["district"].start()
    wait_until(lambda: nodes["district"].status().get("initial_load") == "done", 900, "the district's initial load")
    nodes["clinic"].start()
    wait_until(lambda: nodes["clinic"].status().get("initial_load") == "done", 900, "the clinic's initial load")
    concepts = [int(c) for c in clinic_db.scalar("SELECT concept_id FROM concept ORDER BY concept_id LIMIT 20").split()]
    # The background load: a patient (54 rows) every 0.2 s, about 270 rows/s, a busy clinic's
    # day compressed (an unpaced writer holds SQLite's single writer lock nearly all the time).
    import threading
    stop = threading.Event()

    def background_load():
        n = 0
        while not stop.is_set():
            clinic_db.run(clinical_sql("sqlite", f"bg{tag}n{n}", 1, concepts))
            n += 1
            stop.wait(0.2)
    background = threading.Thread(target=background_load, daemon=True)
    background.start()
    delays = []
    for i in range(probes):
        prefix = f"pr{tag}n{i}"
        sql = clinical_sql("sqlite", prefix, 1, concepts)
        start = time.monotonic()
        clinic_db.run(sql)
        committed = time.monotonic()
        person = f"{prefix}-p0-".ljust(36, "0")
        wait_until(lambda: central_db.scalar(f"SELECT COUNT(*) FROM person WHERE uuid = '{person}'") == "1", 120, f"probe {i} at the central", interval=0.02)
        delays.append(time.monotonic() - committed)
        del start
    stop.set()
    background.join()
    for node in nodes.values():
        node.stop()
    delays.sort()
    result = {"probes": probes, "p50_s": round(delays[len(delays) // 2], 2), "p99_s": round(delays[min(len(delays) - 1, int(len(delays) * 0.99))], 2),
              "max_s": round(delays[-1], 2)}
    for db in (central_db, district_db):
        db.admin(f"DROP DATABASE IF EXISTS {db.name}")
    return result


def main():
    if os.environ.get("BENCH_LATENCY"):
        workdir = tempfile.mkdtemp(prefix="tributary-bench-latency-")
        print("Latency clinic (SQLite) > district (MariaDB) > central (PostgreSQL), sync.interval 1s, a background load at the clinic; logs in " + workdir, flush=True)
        print(json.dumps(latency(int(os.environ["BENCH_LATENCY"]), workdir)), flush=True)
        return
    obs = int(os.environ.get("BENCH_OBS", "100000"))
    shapes = [s for s in os.environ.get("BENCH_SHAPES", ",".join(ALL_SHAPES)).split(",") if s]
    workdir = tempfile.mkdtemp(prefix="tributary-bench-outside-")
    print(f"Sync throughput as run: {obs} obs ({obs // OBS_PER_PATIENT} patients, {obs // OBS_PER_PATIENT * (4 + OBS_PER_PATIENT)} rows) per shape; "
          f"release binary, separate processes and durable servers; logs in {workdir}", flush=True)
    results = []
    for shape in shapes:
        result = run_shape(shape, obs, workdir)
        results.append(result)
        print(json.dumps(result), flush=True)
    print()
    print(f"{'shape':<28} {'seconds':>8} {'rows/s':>8} {'first row':>10} {'writer s':>9} {'behind':>7} {'RSS parent':>11} {'RSS child':>10} {'logical s':>10} {'ratio':>6}")
    for r in results:
        print(f"{r['shape']:<28} {r['seconds']:>8} {r['rows_per_s']:>8} {r['first_row_s']:>10} {r['writer_s']:>9} {r['behind_writer_s'] if r['behind_writer_s'] is not None else '-':>7} "
              f"{r['peak_rss_mb']['parent']:>8} MB {r['peak_rss_mb']['child']:>7} MB {r.get('logical_s', '-'):>10} {r.get('ratio_to_logical', '-'):>6}")
    fastest = max(r["rows_per_s"] for r in results)
    print(f"slowest shape against the fastest: {fastest / min(r['rows_per_s'] for r in results):.2f}x")
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
