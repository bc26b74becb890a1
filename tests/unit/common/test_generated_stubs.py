"""The committed gRPC stubs are exactly what `make protos` makes from protos/ today."""

from pathlib import Path

from common.rpc import generate


def test_generated_stubs_are_fresh(tmp_path):
    generate.generate(tmp_path)
    committed = generate.DEFAULT_OUT
    fresh = {p.relative_to(tmp_path): p.read_text() for p in tmp_path.rglob("*_pb2*.py*")}
    assert fresh, "protoc produced nothing"
    stale = [str(path) for path, text in fresh.items() if not (committed / path).exists()
             or (committed / path).read_text() != text]
    assert not stale, f"stubs out of date, run `make protos`: {stale}"
    extra = [str(p.relative_to(committed)) for p in committed.rglob("*_pb2*.py*")
             if p.relative_to(committed) not in fresh]
    assert not extra, f"stubs without a .proto: {extra}"
