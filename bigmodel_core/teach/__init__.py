"""The maths the Concepts and Playground pages draw, written out in numpy (and torch where a
comparison with autograd is the point): activations, losses, backprop by hand, optimisers on 2-D
surfaces, attention, the playground's toy networks.
"""
