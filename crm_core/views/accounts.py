from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def account_list_page(request):
    return HttpResponse("accounts: not built yet")


@login_required
def account_detail_page(request, pk):
    return HttpResponse("account: not built yet")
