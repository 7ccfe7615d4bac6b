"""Newton's method vs gradient descent, with Hessian-vector products and no Hessian matrix.

A gradient is a computation too. ``minigrad.grad(loss, params, create_graph=True)``
returns it as nodes of a new graph; differentiating ``g . v`` once more gives ``H v``,
the Hessian-vector product (Pearlmutter 1994), for the cost of a few gradients.
Newton's step solves ``H d = -g``; the conjugate gradient method (CG) solves it with
products ``H v`` alone, so the Hessian is never written down: "Hessian-free" or
truncated Newton (Nocedal & Wright, *Numerical Optimization*, 2006, Algorithm 7.1;
Martens 2010, "Deep learning via Hessian-free optimization").

Two problems, one per engine:

* scalar engine: Rosenbrock's function ``(1 - x)^2 + 100 (y - x^2)^2`` from (-1.2, 1),
  with ``x`` and ``y`` two ``Value`` s; its curved valley is the classic trap for GD;
* tensor engine: L2-regularized logistic regression (``linear`` -> ``log_softmax`` ->
  ``nll_loss``) on two moons with cubic features: badly scaled, so GD crawls.

Both methods use the same backtracking (Armijo) line search; only the direction differs.

Printed: the Hessian-vector product checked against central differences of the
gradient (and PyTorch's, when installed); then for each problem and method, the
iterations, gradients, Hessian-vector products and seconds to reach the tolerance.
Pictures: the loss above its minimum (log scale) against the iteration, and the graph
of a second derivative in the scalar engine, the nodes each backward pass built drawn
in boxes "backward of <op>, step k".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import _common as common
import numpy as np

import minigrad as mg
from minigrad import datasets, grad
from minigrad.nn import functional as F

GRAD_TOL = 1e-6  # stop when |gradient| <= this
ARMIJO = 1e-4  # sufficient decrease: f(w + t d) <= f(w) + ARMIJO * t * g.d
L2 = 1e-3
CG_TOL = 1e-8  # CG's residual relative to |g|: close to an exact Newton step


# ---------------------------------------------------------------- two problems, one per engine


class Problem:
    """A loss of a flat float64 vector ``w``, written with one engine's nodes.

    The optimizers below see only NumPy vectors; a subclass turns ``w`` into
    parameter nodes (``params``), builds the loss from them (``objective``) and reads
    gradients back (``flat``).
    """

    name = ""

    def params(self, w: np.ndarray) -> list[Any]:
        raise NotImplementedError

    def objective(self, params: list[Any]) -> Any:
        raise NotImplementedError

    def flat(self, nodes: Sequence[Any]) -> np.ndarray:
        raise NotImplementedError

    def dot(self, g: Sequence[Any], v: np.ndarray) -> Any:
        """``sum_i g_i v_i`` as a node: the scalar whose gradient is ``H v``."""
        raise NotImplementedError

    def loss(self, w: np.ndarray) -> float:
        with mg.no_grad():
            return float(self.objective(self.params(w)).data)

    def gradient(self, w: np.ndarray) -> np.ndarray:
        p = self.params(w)
        return self.flat(grad(self.objective(p), p))

    def gradient_and_hvp(self, w: np.ndarray) -> tuple[np.ndarray, Callable[[np.ndarray], Any]]:
        """The gradient at ``w``, and ``v -> H v``: one graph of the gradient
        (``create_graph=True``), differentiated again for every ``v``."""
        p = self.params(w)
        g = grad(self.objective(p), p, create_graph=True)

        def hvp(v: np.ndarray) -> np.ndarray:
            return self.flat(grad(self.dot(g, v), p, retain_graph=True))

        return self.flat(g), hvp


class Rosenbrock(Problem):
    """``(1 - x)^2 + 100 (y - x^2)^2``, minimum 0 at (1, 1); two ``Value`` s."""

    name = "Rosenbrock, scalar engine"
    start = np.array([-1.2, 1.0])

    def params(self, w: np.ndarray) -> list[mg.Value]:
        return [mg.Value(float(w[0]), label="x"), mg.Value(float(w[1]), label="y")]

    def objective(self, params: list[Any]) -> Any:
        x, y = params
        return (1 - x) ** 2 + 100 * (y - x**2) ** 2

    def flat(self, nodes: Sequence[Any]) -> np.ndarray:
        return np.array([float(n.data) for n in nodes])

    def dot(self, g: Sequence[Any], v: np.ndarray) -> Any:
        return mg.value_sum(gi * float(vi) for gi, vi in zip(g, v, strict=True))


class LogisticRegression(Problem):
    """Mean negative log-likelihood of a 2-class linear model on cubic features of two
    moons, plus ``L2/2 * |params|^2``; float64 ``Tensor`` s."""

    name = "logistic regression, tensor engine"

    def __init__(self, n_points: int = 200) -> None:
        X, self.y = datasets.make_moons(n_points, noise=0.2, seed=0)
        a, b = X[:, 0], X[:, 1]
        # every monomial of degree 1 to 3, unscaled: x1^3 reaches ~8, so the
        # curvature differs by orders of magnitude between directions
        self.X = np.stack([a, b, a * a, a * b, b * b, a**3, a * a * b, a * b * b, b**3], axis=1)
        self.shapes = [(2, self.X.shape[1]), (2,)]
        self.start = np.zeros(sum(int(np.prod(s)) for s in self.shapes))

    def params(self, w: np.ndarray) -> list[mg.Tensor]:
        out, i = [], 0
        for shape in self.shapes:
            n = int(np.prod(shape))
            out.append(mg.Tensor(w[i : i + n].reshape(shape), requires_grad=True))
            i += n
        return out

    def objective(self, params: list[Any]) -> Any:
        weight, bias = params
        logits = F.linear(mg.Tensor(self.X), weight, bias)
        nll = F.nll_loss(F.log_softmax(logits, dim=1), self.y)
        return nll + (L2 / 2) * ((weight * weight).sum() + (bias * bias).sum())

    def flat(self, nodes: Sequence[Any]) -> np.ndarray:
        return np.concatenate([np.asarray(n.data, dtype=np.float64).ravel() for n in nodes])

    def dot(self, g: Sequence[Any], v: np.ndarray) -> Any:
        total, i = None, 0
        for gi in g:
            n = gi.data.size
            term = (gi * mg.Tensor(v[i : i + n].reshape(gi.shape))).sum()
            total = term if total is None else total + term
            i += n
        return total


# ---------------------------------------------------------------- the two methods


def backtracking(
    problem: Problem, w: np.ndarray, f: float, g: np.ndarray, d: np.ndarray, t: float
) -> tuple[float, np.ndarray, float, int]:
    """The largest ``t / 2^k`` with sufficient decrease along ``d``; (step, new w, new f, evals)."""
    slope = float(g @ d)
    for evals in range(1, 60):
        w_new = w + t * d
        f_new = problem.loss(w_new)
        if f_new <= f + ARMIJO * t * slope:
            return t, w_new, f_new, evals
        t /= 2
    return 0.0, w, f, evals


def conjugate_gradient(
    hvp: Callable[[np.ndarray], np.ndarray], g: np.ndarray
) -> tuple[np.ndarray, int]:
    """Solve ``H d = -g`` with CG, using only products ``H v`` (at most ``2n`` of them).

    Stops when the residual ``|H d + g|`` is below ``CG_TOL * |g|``, or on a direction
    of negative curvature (``p.Hp <= 0``: where the Hessian is not positive definite
    the quadratic model has no minimum), where it returns the last iterate (or ``-g``
    if there is none yet). Returns (d, number of Hessian-vector products).
    """
    d = np.zeros_like(g)
    r = -g.copy()  # residual -g - H d
    p = r.copy()
    tol = CG_TOL * np.linalg.norm(g)
    for k in range(1, 2 * len(g) + 1):
        hp = hvp(p)
        curvature = float(p @ hp)
        if curvature <= 0:
            return (-g if k == 1 else d), k
        alpha = float(r @ r) / curvature
        d += alpha * p
        r_new = r - alpha * hp
        if np.linalg.norm(r_new) <= tol:
            return d, k
        p = r_new + (float(r_new @ r_new) / float(r @ r)) * p
        r = r_new
    return d, k


def minimize(problem: Problem, method: str, max_iter: int) -> dict[str, Any]:
    """Run ``"newton"`` (Newton-CG) or ``"gd"`` from ``problem.start`` until
    ``|g| <= GRAD_TOL``; record the loss at every iterate and what it cost."""
    w = problem.start.copy()
    f = problem.loss(w)
    losses, counts = [f], {"gradients": 0, "hvps": 0, "loss_evals": 1}
    t = 1.0
    start = time.perf_counter()
    iterations = None
    for it in range(max_iter):
        if method == "newton":
            g, hvp = problem.gradient_and_hvp(w)
            counts["gradients"] += 1
            if np.linalg.norm(g) <= GRAD_TOL:
                iterations = it
                break
            d, n_hvp = conjugate_gradient(hvp, g)
            counts["hvps"] += n_hvp
            t = 1.0  # Newton's natural step is 1
        else:
            g = problem.gradient(w)
            counts["gradients"] += 1
            if np.linalg.norm(g) <= GRAD_TOL:
                iterations = it
                break
            d = -g
            t = min(2 * t, 1e6)  # start from twice the last accepted step
        t, w, f, evals = backtracking(problem, w, f, g, d, t)
        counts["loss_evals"] += evals
        losses.append(f)
        if t == 0.0:  # no decrease possible in float64: report where it stopped
            break
    return {
        "iterations": iterations,
        "losses": np.array(losses),
        "w": w,
        "seconds": time.perf_counter() - start,
        **counts,
    }


# ---------------------------------------------------------------- checks and the graph


def check_hvp(problem: Problem, w: np.ndarray, seed: int = 0) -> dict[str, float]:
    """``H v`` from double backward against central differences of the gradient,
    ``(g(w + h v) - g(w - h v)) / 2h``, and against PyTorch's double backward."""
    v = np.random.default_rng(seed).standard_normal(len(w))
    _, hvp = problem.gradient_and_hvp(w)
    hv = hvp(v)
    h = 1e-5
    numeric = (problem.gradient(w + h * v) - problem.gradient(w - h * v)) / (2 * h)
    scale = np.abs(hv).max()
    result = {"vs_central_differences": float(np.abs(hv - numeric).max() / scale)}
    torch_hv = torch_hvp(problem, w, v)
    if torch_hv is not None:
        result["vs_pytorch"] = float(np.abs(hv - torch_hv).max() / scale)
    return result


def torch_hvp(problem: Problem, w: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """The same product from PyTorch (``torch.autograd.functional.hvp``), if installed."""
    try:
        import torch
    except ImportError:
        return None
    if isinstance(problem, Rosenbrock):

        def f(p: Any) -> Any:
            return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    else:
        assert isinstance(problem, LogisticRegression)
        X, y = torch.from_numpy(problem.X), torch.from_numpy(problem.y)
        n_w = int(np.prod(problem.shapes[0]))

        def f(p: Any) -> Any:
            weight, bias = p[:n_w].reshape(problem.shapes[0]), p[n_w:]
            nll = torch.nn.functional.cross_entropy(X @ weight.T + bias, y)
            return nll + (L2 / 2) * (p * p).sum()

    _, hv = torch.autograd.functional.hvp(f, torch.from_numpy(w), torch.from_numpy(v))
    return hv.numpy()


def draw_second_derivative(args: Any) -> dict[str, Any]:
    """f = x^3 at x = 0.5, its first and second derivative as ``Value`` s, in one picture.

    Each backward pass puts the nodes it builds in boxes "backward of <op>, step k";
    the name scope around each ``grad`` call adds one box per pass around them (the
    step numbers restart with each pass)."""
    x = mg.Value(0.5, label="x")
    f = x**3
    with mg.name_scope("first backward: f' = 3x^2"):
        (df_dx,) = grad(f, x, create_graph=True)
    with mg.name_scope("second backward: f'' = 6x"):
        (d2f_dx2,) = grad(df_dx, x, create_graph=True)
    nodes = mg.topological_order([f, df_dx, d2f_dx2])
    scopes = sorted({" / ".join(node._scope) for node in nodes if len(node._scope) > 1})
    print(
        f"\nf = x^3 at x = 0.5: f' = {df_dx.data:g} (3x^2 = {3 * 0.5**2:g}), "
        f"f'' = {d2f_dx2.data:g} (6x = {6 * 0.5:g}); {len(nodes)} nodes, "
        f"built by backward in: {', '.join(scopes)}"
    )
    summary = {"d1": df_dx.data, "d2": d2f_dx2.data, "nodes": len(nodes), "scopes": scopes}
    try:
        from minigrad import viz

        names = {"x": x, "f": f, "df_dx": df_dx, "d2f_dx2": d2f_dx2}
        picture = viz.draw_graph([f, df_dx, d2f_dx2], names=names, show_grad=False)
        for suffix in ("png", "svg"):
            path = viz.render(picture, args.out / f"newton_vs_gd_graph.{suffix}")
            print(f"picture: {path}")
            common.gallery_copy(args, path)
    except Exception as err:  # the numbers above stand without the picture
        print(f"(graph not drawn: {err})")
    return summary


# ---------------------------------------------------------------- the story


def main(argv: Sequence[str] | None = None) -> dict:
    p = common.parser(__doc__.splitlines()[0], seeds=1)
    p.add_argument("--max-iter", type=int, default=20000, help="gradient descent's budget")
    args = common.parse(p, argv)
    max_iter = 1000 if args.quick else args.max_iter
    problems = [Rosenbrock(), LogisticRegression()]

    summary: dict[str, Any] = {"hvp_check": {}}
    print("Hessian-vector product (double backward) vs references, max relative difference:")
    for problem in problems:
        w = problem.start + 0.1 * np.random.default_rng(1).standard_normal(len(problem.start))
        check = check_hvp(problem, w)
        summary["hvp_check"][problem.name] = check
        print(f"  {problem.name}: " + ", ".join(f"{k} {v:.1e}" for k, v in check.items()))

    results: dict[str, dict[str, Any]] = {}
    print(f"\nIterations to |gradient| <= {GRAD_TOL:g} (same backtracking line search):")
    for problem in problems:
        results[problem.name] = {}
        for method in ("newton", "gd"):
            r = minimize(problem, method, max_iter)
            results[problem.name][method] = r
            reached = "not reached" if r["iterations"] is None else f"{r['iterations']:>5} it"
            print(
                f"  {problem.name:<36} {'Newton-CG' if method == 'newton' else 'GD':<10}"
                f"{reached:>14} of {max_iter}: {r['gradients']} gradients, {r['hvps']} H v, "
                f"{r['loss_evals']} losses, {r['seconds']:.3f} s, final loss {r['losses'][-1]:.6g}"
            )
        results[problem.name]["minimum"] = min(
            r["losses"].min() for r in results[problem.name].values()
        )

    fig, axes = common.figure(ncols=2, width=5.2, height=4.0)
    for ax, problem in zip(axes, problems, strict=True):
        best = results[problem.name]["minimum"]
        for method, color in (("newton", "#1f77b4"), ("gd", "#d62728")):
            r = results[problem.name][method]
            gap = np.maximum(r["losses"] - best, 1e-16)  # float64's floor on the log scale
            it = "not reached" if r["iterations"] is None else f"{r['iterations']} it"
            label = f"{'Newton-CG' if method == 'newton' else 'gradient descent'} ({it})"
            ax.plot(np.arange(len(gap)), gap, color=color, label=label)
        ax.set(
            xscale="symlog",
            yscale="log",
            xlabel="iteration (log scale after 1)",
            ylabel="loss - minimum",
            title=problem.name,
        )
        ax.legend(loc="lower left", title=f"to |g| <= {GRAD_TOL:g}")
    fewer, work = [], []
    for problem in problems:
        newton, gd = results[problem.name]["newton"], results[problem.name]["gd"]
        reached = gd["iterations"] is not None
        gd_iterations = gd["iterations"] if reached else max_iter
        newton_iterations = max(1, newton["iterations"] or max_iter)
        fewer.append(f"{'' if reached else '> '}{gd_iterations / newton_iterations:.0f}x")
        # a Hessian-vector product costs about as much as a gradient or two (see
        # benchmarks/hessian.py); count each as one gradient here
        passes = newton["gradients"] + newton["hvps"]
        work.append(f"{'' if reached else '> '}{gd['gradients'] / passes:.0f}x")
    fig.suptitle(
        f"Newton-CG vs gradient descent (left, right): {' and '.join(fewer)} fewer iterations,\n"
        f"{' and '.join(work)} fewer gradients + Hessian-vector products"
    )
    common.save(fig, args, "newton_vs_gd.png")

    summary["results"] = results
    summary["graph"] = draw_second_derivative(args)
    return summary


if __name__ == "__main__":
    main()
