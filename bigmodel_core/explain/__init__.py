"""Why a model said what it said: attributions (captum), occlusion and permutation importance.
"""
