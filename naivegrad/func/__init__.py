"""Function transforms, named as in ``torch.func`` and JAX: jvp, vjp, grad, jacrev, jacfwd, hessian, hvp.

>>> from naivegrad.func import grad, jacfwd, jacrev
>>> grad(grad(lambda x: x ** 3 * x.sin()))(1.0).data           # the second derivative, 6 sin 1 + 5 cos 1
>>> jacrev(lambda v: [v[0] * v[1], v[1].exp()])([1.0, 2.0])     # array([[2., 1.], [0., 7.389...]])

Which engine runs f is decided by the arguments being differentiated, as JAX decides by type:

- Python numbers, ``Value``s, and (nested) lists/tuples of them -> the scalar engine. f receives Values in
  the same nesting (``3.0`` arrives as a Value, ``[1.0, 2.0]`` as a list of two Values; a numpy object array
  of Values, as ``nn``'s scalar backend stores parameters, arrives as an object array of Values). A function
  of several numbers takes them either as one list (``f(v)`` with ``v[0]``, ``v[1]``; its Jacobian has shape
  output.shape + (len(v),)) or as separate arguments picked with ``argnums``.
- numpy arrays and ``Tensor``s -> the tensor engine; f receives a Tensor (integer arrays as float64,
  floating arrays keeping their dtype). Each argument is one array.
- Arguments not in ``argnums`` are passed to f untouched. One call differentiates one engine's arguments.

What comes back:

- ``grad`` / ``vjp_fn`` / ``hvp``: shaped like the primals: Values (scalar engine), Tensors (tensor engine).
- ``jvp``: ``(output, tangent)``, the tangent shaped like the output: floats (nested like a list output)
  on the scalar engine, numpy arrays on the tensor engine. The tangent is returned, not left on the
  output, so the output can go on into other ops (or another jvp) as a plain Value / Tensor.
- ``jacrev`` / ``jacfwd`` / ``hessian``: numpy arrays of shape output.shape + input.shape (+ input.shape);
  a tuple per argnum when ``argnums`` is a tuple.

Which combinations work (anything else raises ``NotImplementedError`` saying why, never a wrong number):

- scalar engine: everything, nested to any depth, with one rule: forward mode (jvp, jacfwd) must be the
  outermost transform, because a Value carries one float tangent. ``grad(grad(grad(f)))``,
  ``jacrev(jacrev(f))``, ``jacfwd(jacrev(f))``, ``jvp(grad(f), ...)``, ``hessian``, ``hvp`` all work;
  ``jacrev(jacfwd(f))`` raises. Reverse mode nested inside anything records its gradients as a graph of
  Values (``backward(create_graph=True)``), so outer transforms can differentiate them.
- tensor engine: jvp, jacfwd (through ops that have a ``jvp`` rule; others raise naming the op), vjp,
  grad, jacrev. No nesting, no hessian or hvp: its derivative rules compute numpy arrays, not Tensors.
"""

from .transforms import grad, hessian, hvp, jacfwd, jacrev, jvp, vjp

__all__ = ["jvp", "vjp", "grad", "jacrev", "jacfwd", "hessian", "hvp"]
