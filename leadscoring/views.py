from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def scoring_model_list_page(request):
    return HttpResponse("scoring: not built yet")
