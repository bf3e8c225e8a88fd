"""The planned training engine: the lecture's maths (layers.py, model.py) as fixed lists
of ``out=`` torch calls over buffers allocated once. ARCHITECTURE.md "The fast path" has
the layout and the measurements behind it.

tape.py      the list of calls, and the readable fallback for layers without a kernel
kernels.py   one planned kernel per layer type, the formula beside each private ATen op
step.py      Step: the flat parameter buffer, one SGD step, all of the -lr scaling
evaluate.py  evaluate(model, X, Y): eval-mode loss, one forward per distinct context
"""
