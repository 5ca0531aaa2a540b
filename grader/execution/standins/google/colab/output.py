"""google.colab.output outside Colab: widget helpers become no-ops."""


def enable_custom_widget_manager():
    return None


def clear(*args, **kwargs):
    return None
