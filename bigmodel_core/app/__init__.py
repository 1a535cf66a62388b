"""What the web app needs around the engine: the training job queue, the background imports,
the eight application domains, language routing for texts and the image gallery.
"""
