"""`value-diag once` and `watch` over what trainers already log behind URLs: SB3's
progress.csv, TensorBoard event files, Tune's result.json and verl's JSON lines on the real
S3 server (moto), the sftp server and an HTTP server that ignores ranges, on 127.0.0.1
(tests/servers.py): `once` in this process where a verdict or a message is checked, the
console script where the process is the point (a module hidden from it, `watch`)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from conftest import invoke, run_cli
from needs import need
from remote_runs import env, put, sftp_put
from servers import SFTP_HOST, PythonHttpServer, S3Server, SftpServer
from trainer_logs import OURS, SB3_CSV, VERL, framed, hide_tensorboard, rlib_result
from watching import Json, Spawn

pytest_plugins = ("servers",)


def _frames(proc: Any) -> list[Json]:
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def _ev(frame: Json) -> Any:
    return frame["critic"]["explained_variance"]["value"]


def test_once_reads_a_prefix_of_trainers_logs_by_their_readers(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    """Found by the names a local folder's are, named by folder, Tune's copies left out,
    verl's .jsonl told from value-diag's own by its first line."""
    client, name = bucket
    put(client, name, "runs/PPO_1/progress.csv", SB3_CSV.encode())
    put(client, name, "runs/PPO_2/progress.csv", SB3_CSV.replace("0.5", "0.75").encode())
    put(client, name, "runs/trial/result.json", rlib_result(1, {"default_policy": 0.125}).encode())
    put(client, name, "runs/trial/progress.csv", b"training_iteration\n1\n")  # Tune's copy
    put(client, name, "runs/verl.jsonl", VERL)
    put(client, name, "runs/ours.jsonl", OURS)
    put(client, name, "runs/notes.txt", b"not a run")
    proc = invoke(["once", f"s3://{name}/runs/", "--critic", "--format", "json"], env=env())
    assert proc.returncode == 0, proc.stderr.decode()
    frames = {f["name"]: f for f in _frames(proc)}
    assert {n: (f["records"], f["step"]) for n, f in frames.items()} == {
        "PPO_1": (2, 256),
        "PPO_2": (2, 256),
        "trial": (1, 4000),
        "verl.jsonl": (1, 7),
        "ours.jsonl": (1, 3),
    }
    assert frames["PPO_1"]["source"] == f"s3://{name}/runs/PPO_1/progress.csv"
    assert [_ev(frames[n]) for n in ("PPO_1", "PPO_2", "trial", "verl.jsonl")] == [
        0.5,
        0.75,
        0.125,
        0.625,
    ]
    verl, ours = frames["verl.jsonl"], frames["ours.jsonl"]
    assert verl["critic"]["value_mean"]["value"] == 1.25
    assert frames["PPO_1"]["cannot_give"]["source"] == "Stable-Baselines3 progress.csv"
    assert verl["cannot_give"]["source"] == "verl file logger"
    assert "cannot_give" not in ours
    assert ours["value_function"]["v_return_correlation"]["value"] == 0.9


def test_once_reads_one_remote_file_and_says_what_it_cannot_give(
    s3: S3Server, bucket: tuple[Any, str]
) -> None:
    client, name = bucket
    put(client, name, "PPO_3/progress.csv", SB3_CSV.encode())
    url = f"s3://{name}/PPO_3/progress.csv"
    proc = invoke(["once", url], env=env())
    assert proc.returncode == 3, proc.stderr.decode()  # nothing judged without --critic
    out = proc.stdout.decode().splitlines()
    shown = f"s3://{name}/PPO_3"  # named by its folder, as a local one
    assert out[0].startswith(f"VALUE DIAGNOSTICS | no data | {shown} | step 256 | 2 records")
    assert out[-1].startswith(
        "Stable-Baselines3 progress.csv cannot give the nine value-function metrics"
    )


def test_without_the_extra_a_remote_event_file_is_one_line_naming_it(
    s3: S3Server, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    client, name = bucket
    put(client, name, "runs/tb/events.out.tfevents.1.host", framed(b"\x09" + bytes(8)))
    put(client, name, "runs/csv/progress.csv", SB3_CSV.encode())
    url = f"s3://{name}/runs/"
    proc = run_cli(["once", url, "--critic", "--format", "json"], env=hide_tensorboard(tmp_path))
    assert proc.stderr.decode().splitlines() == [
        f"value-diag: error: cannot read {url}tb/events.out.tfevents.1.host: reading"
        " TensorBoard event files needs the tensorboard package:"
        " pip install 'value-diag[tensorboard]' (or pip install tensorboard)"
    ]
    assert [(f["name"], _ev(f)) for f in _frames(proc)] == [("csv", 0.5)]
    assert proc.returncode == 2


def test_once_reads_an_event_file_and_a_result_json_over_sftp(
    sftp: SftpServer, tmp_path: Path
) -> None:
    need("tensorboard")
    tb = need("torch.utils.tensorboard")
    writer = tb.SummaryWriter(str(tmp_path / "tb"))
    for update in (1, 2):
        writer.add_scalar("losses/explained_variance", 0.25 * update, 128 * update)
    writer.close()
    (event,) = (tmp_path / "tb").iterdir()
    top = f"/logs-{uuid.uuid4().hex[:8]}"
    sftp_put(sftp, f"{top}/CartPole__ppo__1/{event.name}", event.read_bytes())
    text = rlib_result(1, {"a": 0.1, "b": 0.2}) + rlib_result(2, {"a": 0.3, "b": 0.4})
    sftp_put(sftp, f"{top}/tune/PPO_0/result.json", text.encode())
    url = f"sftp://{SFTP_HOST}{top}/"
    proc = invoke(["once", url, "--critic", "--format", "json"], env=env())
    assert proc.returncode == 0, proc.stderr.decode()
    assert {f["name"]: (_ev(f), f["step"], f["records"]) for f in _frames(proc)} == {
        "CartPole__ppo__1": (0.5, 256, 2),
        "tune/PPO_0#a": (0.3, 8000, 2),
        "tune/PPO_0#b": (0.4, 8000, 2),
    }


def test_once_over_a_server_that_ignores_ranges_reads_the_whole_file(tmp_path: Path) -> None:
    """Python's http.server answers every read with the whole file: read as one stream,
    cut at the size its metadata gave, the same numbers as the file read locally."""
    served = tmp_path / "served"
    (served / "PPO_1").mkdir(parents=True)
    (served / "PPO_1" / "progress.csv").write_text(SB3_CSV)
    (served / "verl.jsonl").write_bytes(VERL)
    (served / "tiny.jsonl").write_bytes(OURS)
    server = PythonHttpServer(served)
    server.start()
    try:
        for path in ("PPO_1/progress.csv", "verl.jsonl"):
            local = invoke(["once", str(served / path), "--critic", "--format", "json"])
            url = f"{server.endpoint}/{path}"
            remote = invoke(["once", url, "--critic", "--format", "json"], env=env())
            assert remote.returncode == 0, remote.stderr.decode()
            (got,), (expected,) = _frames(remote), _frames(local)
            assert got["records"] == expected["records"] == 1 + (path != "verl.jsonl")
            assert (_ev(got), got["step"], got["cannot_give"]) == (
                _ev(expected),
                expected["step"],
                expected["cannot_give"],
            )
    finally:
        server.stop()


def test_watch_follows_a_remote_progress_csv_and_verl_file(
    s3: S3Server, bucket: tuple[Any, str], spawn: Spawn
) -> None:
    client, name = bucket
    rows = SB3_CSV.splitlines(keepends=True)
    put(client, name, "runs/PPO_1/progress.csv", "".join(rows[:3]).encode())
    w = spawn(f"s3://{name}/runs/", "--critic", "--format", "json", "--poll", "0.2", env=env())
    first = w.frame(lambda f: f["records"] == 1)
    assert (first["name"], _ev(first), first["step"]) == (f"s3://{name}/runs/PPO_1", 0.25, 128)
    assert first["cannot_give"]["source"] == "Stable-Baselines3 progress.csv"
    put(client, name, "runs/PPO_1/progress.csv", SB3_CSV.encode())  # uploaded again, longer
    later = w.frame(lambda f: f["records"] == 2)
    assert (_ev(later), later["step"]) == (0.5, 256)
    put(client, name, "runs/verl.jsonl", VERL)  # a run that starts later: verl's
    verl = w.frame(lambda f: f["source"].endswith("/verl.jsonl"))
    assert (_ev(verl), verl["critic"]["value_mean"]["value"], verl["records"]) == (0.625, 1.25, 1)
    assert verl["cannot_give"]["source"] == "verl file logger"


def test_watch_follows_a_remote_verl_file_appended_over_sftp(
    sftp: SftpServer, spawn: Spawn
) -> None:
    path = f"/verl-{uuid.uuid4().hex[:8]}/experiment.jsonl"
    local = sftp_put(sftp, path, VERL)
    url = f"sftp://{SFTP_HOST}{path}"
    w = spawn(url, "--critic", "--format", "json", "--poll", "0.2", env=env())
    first = w.frame(lambda f: f["records"] == 1)
    assert (_ev(first), first["step"]) == (0.625, 7)
    with local.open("ab") as f:
        f.write(VERL.replace(b'"step": 7', b'"step": 8').replace(b"0.625", b"0.75"))
    later = w.frame(lambda f: f["records"] == 2)
    assert (_ev(later), later["step"]) == (0.75, 8)
