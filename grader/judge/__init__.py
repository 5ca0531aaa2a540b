"""The judge: a student's model, exported in the student's kernel as a program (an aten graph and its tensors),
run on the grader's inputs by a process that runs no student Python.

The program file crosses the wall as plain arrays (.npz, never a pickle) and is hostile until checked: its
graph JSON is sanitised against an allow-list before torch's deserializer sees it (program_json.py), and the
judge process itself runs sandboxed (a container under the docker runner, a capped child process under the
local one). The host side (request.py) never imports torch.
"""
