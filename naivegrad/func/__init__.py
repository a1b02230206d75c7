"""Function transforms, named as in ``torch.func`` and JAX: jvp, vjp, grad, value_and_grad, jacrev, jacfwd,
hessian, hvp.

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
  floating arrays keeping their dtype). An argument may be a pytree: a dict / list / tuple of arrays (a
  model's parameters as ``{"W": W, "b": b}``) arrives as the same structure of Tensors, and its gradient
  comes back in that structure (Jacobians: the structure holding one Jacobian per array, as torch.func).
  On the scalar engine a dict is a pytree too (each value one list of numbers).
- Arguments not in ``argnums`` are passed to f untouched. One call differentiates one engine's arguments.

What comes back:

- ``grad`` / ``vjp_fn`` / ``hvp``: shaped like the primals: Values (scalar engine), Tensors (tensor engine).
  ``value_and_grad(f)(x)`` is ``(f(x), grad(f)(x))`` (torch.func's ``grad_and_value``: the reverse order);
  ``has_aux=True`` (grad, value_and_grad, jacrev, jacfwd) lets f return ``(output, aux)`` and hands aux back beside the derivative, as torch.func.
- ``jvp``: ``(output, tangent)``, the tangent shaped like the output: floats (nested like a list output)
  on the scalar engine, numpy arrays on the tensor engine. The tangent is returned, not left on the
  output, so the output can go on into other ops (or another jvp) as a plain Value / Tensor.
- ``jacrev`` / ``jacfwd`` / ``hessian``: numpy arrays of shape output.shape + input.shape (+ input.shape);
  a tuple per argnum when ``argnums`` is a tuple.

Which combinations work: every one, on both engines, nested to any depth, as in torch.func:
``grad(grad(grad(f)))``, ``jacrev(jacrev(f))``, ``jacfwd(jacrev(f))``, ``jvp(grad(f), ...)``, ``hessian``,
``hvp``, ``jvp(jvp(f, ...)[1], ...)``, ``jacfwd(jacfwd(f))``, ``jacrev(jacfwd(f))``, ``grad`` of a function
that calls ``jvp``. Reverse mode nested inside anything records its gradients as a graph
(``create_graph=True``: Values, or Tensors through ``naivegrad.autograd.grad``), so outer transforms can
differentiate them. Forward mode runs as forward mode only as the outermost transform: a Value / Tensor
carries one tangent, which nothing could differentiate again. Inside another transform ``jvp`` computes J t
by reverse mode twice (the gradient in u of <u J, t>) and ``jacfwd`` is ``jacrev``: the same numbers (their
non-finite cases follow reverse mode's formulas), returned as Values / Tensors with a graph. On the tensor engine an op whose backward rule cannot be differentiated again raises
``NotImplementedError`` naming it; forward mode needs every op's ``jvp`` rule.
"""

from .transforms import grad, grad_and_value, hessian, hvp, jacfwd, jacrev, jvp, value_and_grad, vjp

__all__ = ["jvp", "vjp", "grad", "value_and_grad", "grad_and_value", "jacrev", "jacfwd", "hessian", "hvp"]
