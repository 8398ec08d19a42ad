"""Evaluation, apart from the app's views: held-out OmniShapes reports (`held_out`), every modality pair's
retrieval and zero-shot scores (`pairs`, `retrieval`), OmniVL's captions and re-ranking (`language`), a folder
of the user's media (`folder`) and the linear probes they share (`probes`)."""
