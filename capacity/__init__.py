"""Capacity planning: a step runner that finds an endpoint's knee, and the queueing model
(Little's law, M/M/c with Erlang C) that turns measured execution times into worker counts.

`podbench capacity` drives this room; see capacity/README.md. The model (`capacity.model`) is
pure and may be used on its own, e.g. to predict a percentile for a rate and a worker count.
"""
