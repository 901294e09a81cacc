from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def opportunity_list_page(request):
    return HttpResponse("opportunities: not built yet")
