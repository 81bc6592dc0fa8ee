"""The playground: a local web page where a student moves a linear classifier's lines and watches the loss.

Each class is a line in the plane (its zero score) with an arrow along its normal ``w_k``; scores grow
away from the line. Picking a loss, a margin, a penalty and a learning rate and pressing play runs
gradient descent — computed on the server by linclass itself — and the lines move. Where no line can
separate the classes (moons, circles, XOR), a hidden layer of up to 16 units bends the boundary, and the
steps train both layers by backpropagation on the engine. Start it with ``linclass playground``.

The page loads and saves its points as CSV or JSON files, and exports the trained weights as JSON in the
API's field names; :func:`load_weights` reads such a file back into NumPy arrays.
"""

from linclass.playground.app import create_app
from linclass.playground.server import background_server, serve
from linclass.playground.weights_file import load_weights

__all__ = ["create_app", "serve", "background_server", "load_weights"]
