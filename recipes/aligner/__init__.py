"""Recipe: the phone aligner (CTC recognizer + attention aligner), trained on a corpus's own manifests."""
