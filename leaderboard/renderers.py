"""The form renderer: Django's widget templates in their Jinja2 versions, and Django's own templates
for the widgets that exist only as those.

The board's filters list every team and title; drawn with the Django template engine, their
``<option>``s (an include per option) were about a third of the board page's time, and Django ships
Jinja2 copies of its form widgets for exactly this. The admin's widgets (the related-object wrapper,
the password hash) and any app's own widget templates come only as Django templates: those are found
in the Django engine instead of failing the page.
"""

from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist


class FormRenderer(BaseRenderer):
    def __init__(self):
        self.fast = Jinja2()
        self.complete = DjangoTemplates()

    def get_template(self, template_name):
        try:
            return self.fast.get_template(template_name)
        except TemplateDoesNotExist:
            return self.complete.get_template(template_name)
