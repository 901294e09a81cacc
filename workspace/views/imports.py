"""Imports with column mapping: upload a CSV or XLSX file, map its columns (a select per column,
pre-filled from the remembered mapping or the column names), preview the first rows with their
errors, run (a Celery task) and watch the progress bar, then download the report. Marketers and
admins (`crm_core.access.check_import`, shared with the API)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm_core import access
from crm_core.models import ImportEntity, ImportJob, ImportStatus, KnownEmail
from crm_core.services.import_files import import_targets
from crm_core.services.import_jobs import (
    import_job_create,
    import_job_map,
    import_job_preview,
    import_job_progress,
    import_job_start,
)

RECENT = 20


class ImportUploadForm(forms.Form):
    entity = forms.ChoiceField(choices=ImportEntity.choices, initial=ImportEntity.CONTACT)
    file = forms.FileField(help_text="A .csv (UTF-8) or .xlsx file whose first row names the columns.")


def _job(pk) -> ImportJob:
    try:
        return ImportJob.objects.get(pk=pk)
    except ImportJob.DoesNotExist as exc:
        raise Http404("No such import.") from exc


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for values in error.message_dict.values() for m in values]
    return list(error.messages)


@login_required
def import_list_page(request):
    access.check_import(request.user)
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_job_create(
                    actor=request.user, entity=form.cleaned_data["entity"], upload=form.cleaned_data["file"]
                )
                return redirect("workspace:import-detail", pk=job.pk)
            except ValidationError as error:
                for message in _messages(error):
                    form.add_error("file", message)
        status = 400
    jobs = ImportJob.objects.select_related("created_by")[:RECENT]
    return render(request, "workspace/import_list.html", {"form": form, "jobs": jobs}, status=status)


def _mapping_context(job: ImportJob, preview=None, errors=()) -> dict:
    first = preview[0].cells if preview else []
    columns = [
        {
            "name": column,
            "index": i,
            "target": job.mapping.get(column, ""),
            "sample": first[i] if i < len(first) else "",
        }
        for i, column in enumerate(job.header)
    ]
    return {
        "job": job,
        "columns": columns,
        "targets": import_targets(job.entity),
        "known_email_choices": KnownEmail.choices,
        "preview": preview,
        "preview_errors": sum(len(row.errors) for row in preview or []),
        "errors": errors,
    }


@login_required
def import_detail_page(request, pk):
    access.check_import(request.user)
    job = _job(pk)
    if job.status in (ImportStatus.UPLOADED, ImportStatus.MAPPED):
        preview = import_job_preview(job=job)
        context = _mapping_context(job, preview)
        context["show_preview"] = job.status == ImportStatus.MAPPED
        return render(request, "workspace/import_detail.html", context)
    return render(request, "workspace/import_detail.html", {"job": job, "progress": import_job_progress(job)})


@login_required
@require_POST
def import_mapping(request, pk):
    access.check_import(request.user)
    job = _job(pk)
    mapping = {column: request.POST.get(f"column-{i}", "") for i, column in enumerate(job.header)}
    try:
        import_job_map(
            job=job,
            actor=request.user,
            mapping=mapping,
            on_known_email=request.POST.get("on_known_email", ""),
        )
    except ValidationError as error:
        job.mapping = {column: target for column, target in mapping.items() if isinstance(target, str)}
        context = _mapping_context(job, import_job_preview(job=_job(pk)), _messages(error))
        return render(request, "workspace/import_detail.html", context, status=400)
    return redirect("workspace:import-detail", pk=job.pk)


@login_required
@require_POST
def import_run(request, pk):
    access.check_import(request.user)
    try:
        import_job_start(job=_job(pk), actor=request.user)
    except ValidationError as error:
        for message in _messages(error):
            messages.error(request, message)
    return redirect("workspace:import-detail", pk=pk)


@login_required
def import_progress_partial(request, pk):
    access.check_import(request.user)
    job = _job(pk)
    context = {"job": job, "progress": import_job_progress(job)}
    return render(request, "workspace/_import_progress.html", context)


@login_required
def import_report(request, pk):
    access.check_import(request.user)
    job = _job(pk)
    if not job.report:
        raise Http404("This import has no report yet.")
    return FileResponse(job.report.open("rb"), as_attachment=True, filename=f"import-{job.pk}-report.csv")
