from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def lead_queue_page(request):
    return HttpResponse("lead queue: not built yet")


@login_required
def lead_detail_page(request, pk):
    return HttpResponse("lead: not built yet")


@login_required
def lead_action(request, pk, action):
    return HttpResponse("lead action: not built yet")


@login_required
def lead_score_partial(request, pk):
    return HttpResponse("lead score: not built yet")
