# Run-time hook for PySide6 in place of PyInstaller's own pyi_rth_pyside6: the same
# settings, but Qt is not imported at start.  PyInstaller's hook imports PySide6.QtCore
# in every process (to register an embedded qt.conf), which loads Qt's libraries even
# for `desktop-audit --version` or `init`.  Here qt.conf is registered right after the
# program's own first import of PySide6.QtCore, so the command line starts without Qt
# and the windows get the same set-up as before.


def _pyi_rthook():
    import importlib.machinery
    import os
    import sys

    from _pyi_rth_utils import is_macos_app_bundle, prepend_path_to_environment_variable
    from _pyi_rth_utils import qt as qt_rth_utils

    qt_rth_utils.ensure_single_qt_bindings_package("PySide6")

    if sys.platform.startswith("win"):
        pyqt_path = os.path.join(sys._MEIPASS, "PySide6")
    else:
        pyqt_path = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(pyqt_path, "plugins")
    os.environ["QML2_IMPORT_PATH"] = os.path.join(pyqt_path, "qml")
    if sys.platform.startswith("win"):
        prepend_path_to_environment_variable(sys._MEIPASS, "PATH")
    if sys.platform == "darwin" and not is_macos_app_bundle:
        prepend_path_to_environment_variable(sys._MEIPASS, "DYLD_LIBRARY_PATH")

    class QtCoreFirstImport:
        """Finds nothing itself; wraps the loader of PySide6.QtCore once."""

        def find_spec(self, fullname, path=None, target=None):
            if fullname != "PySide6.QtCore":
                return None
            sys.meta_path.remove(self)
            spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
            if spec is None or spec.loader is None:
                return spec
            load = spec.loader.exec_module

            def exec_module(module):
                load(module)
                qt_rth_utils.create_embedded_qt_conf("PySide6", pyqt_path)

            spec.loader.exec_module = exec_module
            return spec

        def invalidate_caches(self):
            pass

    sys.meta_path.insert(0, QtCoreFirstImport())


_pyi_rthook()
del _pyi_rthook
