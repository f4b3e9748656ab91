"""Map the top-level templates/ folder into the wheel as `auditor.templates`.

pyproject.toml holds all metadata; this file only exists because setuptools'
automatic discovery cannot add a package that lives outside `auditor/`.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["auditor", "auditor.*"]), "auditor.templates"],
    package_dir={"auditor.templates": "templates"},
)
