"""The compiled name search is optional: without a C compiler, value-diag uses re instead."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "value_diag.ingest._finder",
            ["value_diag/ingest/_finder.c"],
            optional=True,
            extra_compile_args=["-O2"] if __import__("os").name == "posix" else [],
        )
    ]
)
