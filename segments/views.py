"""Pages of the segment builder (the tree view edits the same JSON the API accepts)."""

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render

from .models import Segment


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_list(request):
    segments = Segment.objects.order_by("name", "id")[:500]
    return render(
        request,
        "segments/list.html",
        {"segments": segments, "can_edit": request.user.has_perm("segments.add_segment")},
    )


@login_required
@permission_required("segments.view_segment", raise_exception=True)
def segment_builder(request, pk=None):
    segment = get_object_or_404(Segment, pk=pk) if pk is not None else None
    if segment is None and not request.user.has_perm("segments.add_segment"):
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied
    return render(
        request,
        "segments/builder.html",
        {
            "segment": segment,
            "kind": "static" if request.GET.get("kind") == "static" else "dynamic",
            "can_edit": request.user.has_perm("segments.change_segment"),
        },
    )
