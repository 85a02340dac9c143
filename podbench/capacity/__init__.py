"""Capacity planning: a step runner that finds an endpoint's knee, and the queueing model
(Little's law, M/M/c with Erlang C) that turns measured execution times into worker counts."""
