"""What kind of process this is, set once by the console entry point (:func:`provisioner.__main__.run`).

Some choices suit a short command-line process and would surprise a program that uses the package as a
library: forking a helper process for a cold load of many files (:mod:`provisioner.manifest.prefill`)
is made only when :data:`CLI` is true.
"""

#: True in a ``provisioner`` command-line run; False for library callers (and tests, unless they set it).
CLI = False
