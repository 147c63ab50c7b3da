# The hole response of the shortcut study's detectors (docs/results.md, "Does the detector read the hole?"), from the
# repository root, after the study (its zoo and detectors in runs/shortcut). The probe: the zoo's maps of the held-out
# test-both images, baked with the PRLE store's settings (a879933194), and PRLE's alpha ~ U(0.5, 1).
set -e
Z=runs/shortcut/zoo
[ -f runs/shortcut/hole/store-test-both/DONE ] || .venv/bin/primary-mask bake --images runs/shortcut/set/test-both --out runs/shortcut/hole/store-test-both --size 64 \
    --input-size 256 --fusion neighboring --tau1 0.5 --tau2 0.3 --lam 0.15 --cam gradcam++ --band-value mean \
    --model efficientnet_lite0:$Z/efficientnet_lite0/weights.pth --model torchvision.mobilenet_v2:$Z/mobilenet_v2/weights.pth
touch runs/shortcut/hole/store-test-both/DONE
.venv/bin/primary-mask leak runs/shortcut/hole/store-test-both --alpha-range 0.5 1.0
D=runs/shortcut/detectors
probe() {  # probe BACKBONE SUFFIX ROW... : one hole_response run over the rows' checkpoints
    local backbone=$1 suffix=$2; shift 2
    local detectors=()
    for row in "$@"; do  # a row whose checkpoint is not there (not trained yet, or taken from a record) is named, left out
        if [ -f "$D/$backbone-$row$suffix/best.pt" ]; then detectors+=(--detector "$row=$D/$backbone-$row$suffix/best.pt")
        else echo "no checkpoint $D/$backbone-$row$suffix/best.pt: $row left out"; fi
    done
    [ ${#detectors[@]} -gt 0 ] || return 0
    .venv/bin/python examples/hole_response.py --images runs/shortcut/set/test-both --pairs runs/shortcut/set/pairs.csv \
        --pair-prefix test-both/ --store runs/shortcut/hole/store-test-both --alpha-range 0.5 1 --reals 400 \
        --title "$backbone${suffix:+ $suffix}: hole response on 400 held-out reals" --out "runs/shortcut/hole/$backbone$suffix" \
        --quiet "${detectors[@]}"
}
# Seed 0 and 1 of MobileNetV2 (measured on 2026-12-03; their checkpoints were lost with the work folder since):
#   probe mobilenet_v2 "" baseline PRLE      and      probe mobilenet_v2 -seed1 PRLE PRLE-paper PRLE-fake ...
# Seed 2 (the checkpoints trained in the session of 2026-12-03 afternoon; the rest of seed 2 was reused):
probe efficientnet_lite0 -seed2 baseline PRLE Oracle PRLE-paired PRLE-fake PRLE-both Random Landmark PRLE-paper self-PRLE RFM
probe mobilenet_v2 -seed2 PRLE-both Random Landmark PRLE-paper self-PRLE RFM
