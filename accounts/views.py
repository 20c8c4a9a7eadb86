from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .forms import DeleteAccountForm, ProfileForm, SignupForm


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("diagnosis:upload")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.register_user(email=form.cleaned_data["email"], password=form.cleaned_data["password1"])
        except services.EmailTaken:
            form.add_error("email", "An account with this e-mail already exists. Log in or reset your password.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Welcome to FaceDiag. Upload a photo of your face to start.")
            return redirect("diagnosis:upload")
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request):
    user = request.user
    form = ProfileForm(
        request.POST or None, initial={"display_name": user.display_name, "consent_training": user.consent_training}
    )
    if request.method == "POST" and form.is_valid():
        services.update_profile(
            user, display_name=form.cleaned_data["display_name"], consent_training=form.cleaned_data["consent_training"]
        )
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(request, "accounts/profile.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    form = DeleteAccountForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = request.user
        logout(request)
        services.delete_account(user)
        messages.success(request, "Your account, scans and photos were deleted.")
        return redirect("home")
    return render(request, "accounts/delete_account.html", {"form": form})
