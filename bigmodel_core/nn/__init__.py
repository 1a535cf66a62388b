"""Network definitions: the image, text and tabular nets, the architecture zoo that rebuilds a model
from its card, batch augmentation and masked-language pre-training. Needs torch.
"""
