# The interviewer's targets, included by the Makefile; a candidate's workspace has no scenarios/ and so none of them.
.PHONY: scenario scenario-check scenario-reset scenario-provoke interview

interview: venv  ## write a candidate's workspace: make interview NAME=... DIR=/path/to/new/folder
	$(BIN)/python -m scenarios interview $(NAME) $(DIR)

scenario-check: venv  ## is scenario NAME solved? in the candidate's workspace with DIR=..., else in this tree
	$(BIN)/python -m scenarios check $(NAME) $(if $(DIR),--dir $(DIR),)

scenario-provoke: venv  ## drive the running stack (make dev, in DIR=... if given) until scenario NAME's symptom shows
	$(BIN)/python -m scenarios provoke $(NAME) $(if $(DIR),--dir $(DIR),)

scenario: venv  ## list the scenarios, or plant one in this tree for self-study with NAME=... (shows the answer)
	$(BIN)/python -m scenarios $(if $(NAME),setup $(NAME),list)

scenario-reset: venv  ## self-study: take the planted fault out of this tree again
	$(BIN)/python -m scenarios reset
