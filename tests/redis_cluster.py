"""A real Redis Cluster for the test session: six `redis-server --cluster-enabled yes` on
free loopback ports, joined by `redis-cli --cluster create --cluster-replicas 1` (three
primaries, each with one replica), stopped at the end. Ready means `cluster_state:ok`, every
slot covered and every primary's replica online, read from the servers, not waited for."""

from __future__ import annotations

import functools
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from live.redisdb.embedded import die_with_parent

NODES = 6
# Short, so that a killed primary's replica takes over within a couple of seconds.
NODE_TIMEOUT_MS = 1000


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (port + 10000) is free too."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port + 10000 > 65535:
            continue
        with socket.socket() as bus:
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        return port


def cli(port: int, *args: str, check: bool = True) -> str:
    return subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", str(port), *args],
        capture_output=True,
        text=True,
        check=check,
        timeout=10,
    ).stdout


def info_fields(text: str) -> dict[str, str]:
    pairs = (line.split(":", 1) for line in text.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in pairs}


@dataclass
class ClusterNode:
    port: int
    process: subprocess.Popen[bytes] | None = None
    stopped: bool = False  # SIGSTOP'ed

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class TestRedisCluster:
    __test__ = False  # not a test class, despite its name

    appendfsync: str = "everysec"
    nodes: list[ClusterNode] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="live-test-cluster-")
        self.nodes = [ClusterNode(_free_cluster_port()) for _ in range(NODES)]

    @property
    def url(self) -> str:
        return f"redis://{self.nodes[0].address}"

    def start(self) -> str:
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self._wait_answers(node.port)
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *(n.address for n in self.nodes),
                "--cluster-replicas",
                "1",
                "--cluster-yes",
            ],
            capture_output=True,
            check=True,
            timeout=60,
        )
        self.wait_ready()
        return self.url

    def _spawn(self, node: ClusterNode) -> None:
        data = Path(self._tmp.name) / str(node.port)
        data.mkdir(exist_ok=True)
        node.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(node.port),
                "--bind",
                "127.0.0.1",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                str(NODE_TIMEOUT_MS),
                "--dir",
                str(data),
                "--appendonly",
                "yes",
                "--appendfsync",
                self.appendfsync,
                "--maxmemory-policy",
                "noeviction",
                "--save",
                "",
                "--daemonize",
                "no",
                "--logfile",
                str(data / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Never outlive the test run, even one killed with -9.
            preexec_fn=functools.partial(die_with_parent, os.getpid()),
        )

    def _wait_answers(self, port: int, timeout_s: float = 20) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if cli(port, "PING", check=False).strip() == "PONG":
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server on {port} never answered")

    def running(self) -> list[ClusterNode]:
        return [n for n in self.nodes if n.process is not None and not n.stopped]

    def wait_ready(self, timeout_s: float = 60) -> None:
        """Until every running node says `cluster_state:ok` with all 16384 slots and every
        primary has an online replica."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._ready():
                return
            time.sleep(0.1)
        raise AssertionError("the Redis Cluster never became ready:\n" + self._describe())

    def _ready(self) -> bool:
        for node in self.running():
            fields = info_fields(cli(node.port, "CLUSTER", "INFO", check=False))
            if fields.get("cluster_state") != "ok" or fields.get("cluster_slots_ok") != "16384":
                return False
        primaries = self.primaries()
        if len(primaries) != 3:
            return False
        for port in primaries:
            fields = info_fields(cli(port, "INFO", "replication", check=False))
            if fields.get("connected_slaves", "0") == "0":
                return False
            if "state=online" not in fields.get("slave0", ""):
                return False
        return True

    def _describe(self) -> str:
        node = self.running()[0]
        return cli(node.port, "CLUSTER", "NODES", check=False)

    def cluster_nodes(self) -> list[list[str]]:
        """CLUSTER NODES as seen by a running node, one split line per node."""
        for node in self.running():
            text = cli(node.port, "CLUSTER", "NODES", check=False)
            if text.strip():
                return [line.split() for line in text.strip().splitlines()]
        raise AssertionError("no cluster node answers")

    def primaries(self) -> list[int]:
        """Ports of the live primaries that own slots."""
        ports = []
        for parts in self.cluster_nodes():
            flags = parts[2].split(",")
            if "master" in flags and "fail" not in flags and len(parts) > 8:
                ports.append(int(parts[1].split(":")[1].split("@")[0]))
        return ports

    def primary_of(self, key: str) -> int:
        slot = int(cli(self.running()[0].port, "CLUSTER", "KEYSLOT", key).strip())
        for parts in self.cluster_nodes():
            flags = parts[2].split(",")
            if "master" not in flags or "fail" in flags:
                continue
            for spec in parts[8:]:
                if spec.startswith("["):
                    continue
                low, _, high = spec.partition("-")
                if int(low) <= slot <= int(high or low):
                    return int(parts[1].split(":")[1].split("@")[0])
        raise AssertionError(f"no primary owns slot {slot}")

    def replica_of(self, primary_port: int) -> int:
        fields = info_fields(cli(primary_port, "INFO", "replication"))
        # slave0:ip=127.0.0.1,port=NNNN,state=online,offset=...,lag=0
        entry = dict(kv.split("=", 1) for kv in fields["slave0"].split(","))
        return int(entry["port"])

    def node(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def pause(self, port: int) -> None:
        node = self.node(port)
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGSTOP)
        node.stopped = True

    def resume(self, port: int) -> None:
        node = self.node(port)
        assert node.process is not None
        os.kill(node.process.pid, signal.SIGCONT)
        node.stopped = False

    def kill(self, port: int) -> None:
        node = self.node(port)
        assert node.process is not None
        node.process.kill()
        node.process.wait()
        node.process = None

    def restart(self, port: int) -> None:
        """Start a killed node again on its data dir: it rejoins (as a replica once its
        replica has taken over). Call it from the test's own thread: the kernel stops the
        node when the thread that started it ends."""
        node = self.node(port)
        self._spawn(node)
        self._wait_answers(port)

    def stop(self) -> None:
        for node in self.nodes:
            if node.process is None:
                continue
            if node.stopped:
                os.kill(node.process.pid, signal.SIGCONT)
            node.process.kill()
            node.process.wait()
            node.process = None
        self._tmp.cleanup()
