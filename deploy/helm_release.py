"""Install, upgrade, uninstall or lint the chart without a helm binary (helm-python: Helm's Go SDK).

    python deploy/helm_release.py upgrade --release uc --namespace unread [-f values.yaml] [--set k=v]...
    python deploy/helm_release.py uninstall --release uc --namespace unread
    python deploy/helm_release.py lint [-f values.yaml] [--set k=v]...

`upgrade` installs when the release does not exist yet (helm upgrade --install). k8s.mk uses the
helm binary instead when one is on PATH; both take the same values.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "charts" / "unread-counters"


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def values_from(args: argparse.Namespace) -> dict[str, Any]:
    import helm_python

    values: dict[str, Any] = {}
    for path in args.values or []:
        values = merge(values, yaml.safe_load(Path(path).read_text()) or {})
    for expr in args.set or []:
        values = merge(values, helm_python.parse_set_string(expr))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["upgrade", "uninstall", "lint"])
    parser.add_argument("--release", default="unread-counters")
    parser.add_argument("--namespace", default="unread")
    parser.add_argument("--kubeconfig", default=None)
    parser.add_argument("--kube-context", default=None)
    parser.add_argument("-f", "--values", action="append")
    parser.add_argument("--set", action="append")
    parser.add_argument("--timeout", type=int, default=600, help="seconds to wait for readiness")
    parser.add_argument("--no-wait", action="store_true")
    args = parser.parse_args(argv)

    import helm_python

    values = values_from(args)
    if args.action == "lint":
        report = helm_python.lint(str(CHART), values, strict=True, namespace=args.namespace)
        for message in report["messages"]:
            print(f"[{('INFO', 'INFO', 'WARNING', 'ERROR')[min(message['severity'], 3)]}] {message['path']}: {message['error']}")
        problems = report["errors"] + [m for m in report["messages"] if m["severity"] >= 2]
        print(f"{report['total_charts_linted']} chart(s) linted, {len(problems)} problem(s)")
        return 1 if problems else 0

    config = helm_python.Config(kubeconfig_path=args.kubeconfig, kube_context=args.kube_context,
                                namespace=args.namespace)
    wait = None if args.no_wait else "watcher"
    try:
        if args.action == "uninstall":
            config.uninstall(args.release)
            print(f"uninstalled {args.release}")
            return 0
        try:
            config.status(args.release)
        except helm_python.HelmNotFoundError:
            release = config.install(str(CHART), args.release, values, namespace=args.namespace,
                                     create_namespace=True, wait=wait, timeout=args.timeout)
        else:
            release = config.upgrade(str(CHART), args.release, values, namespace=args.namespace,
                                     wait=wait, timeout=args.timeout)
    except helm_python.HelmError as e:
        print(f"helm {args.action} failed: {e}", file=sys.stderr)
        return 1
    info = release.get("info", {}) if isinstance(release, dict) else {}
    print(f"{args.release}: revision {release.get('version', '?') if isinstance(release, dict) else '?'} "
          f"{info.get('status', 'deployed')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
