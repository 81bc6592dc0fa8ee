"""Exporting a trained classifier to other runtimes (the ``onnx`` extra: ``pip install linclass[onnx]``).

>>> from linclass.export.onnx import to_onnx
>>> to_onnx(clf, "model.onnx")          # or clf.to_onnx("model.onnx"); linclass export MODEL --onnx OUT

Nothing here is imported by ``import linclass``: the ONNX packages are needed only to export.
"""
