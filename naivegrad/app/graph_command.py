"""``naivegrad graph EXPR``: evaluate a scalar expression, run backward and draw its computation graph."""

import sys

from ..viz import GraphvizNotInstalled, draw, graph_expression, to_dot
from .errors import UsageError, check_output_path, fail, one_line

__all__ = ["graph"]


def graph(args):
    """Run the ``graph`` command with parsed ``args``; returns the exit status."""
    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be >= 1, got {args.max_nodes}")
    try:
        out = graph_expression(args.expr)
    except (ValueError, TypeError) as e:
        raise UsageError(one_line(e)) from None
    out.backward()
    if args.output is None:
        sys.stdout.write(to_dot(out, max_nodes=args.max_nodes, rankdir=args.rankdir))
        return 0
    check_output_path("-o", args.output)
    try:
        draw(out, args.output, max_nodes=args.max_nodes, rankdir=args.rankdir)
    except (ValueError, GraphvizNotInstalled) as e:
        raise UsageError(one_line(e)) from None
    except (RuntimeError, OSError) as e:
        return fail(f"naivegrad graph: {e}", 1)
    print(f"wrote {args.output} (value {out.data:.4f})")
    return 0
