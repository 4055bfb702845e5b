"""The demo ontology: three bounding-box classes and a frame-level weather classification.

Feature hashes are fixed (not the SDK's random ones) so that ground truth and simulated labels are byte-for-byte
reproducible from a seed, and so that label rows written by one process can be read with the ontology built
by another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from encord.objects import OntologyStructure, Shape
from encord.objects.attributes import RadioAttribute

CAR, TRUCK, PEDESTRIAN = "Car", "Truck", "Pedestrian"
CLASSES = (CAR, TRUCK, PEDESTRIAN)
VEHICLES = (CAR, TRUCK)  # the classes that carry the "Occluded" attribute
WEATHER_OPTIONS = ("sunny", "rain")


@dataclass(frozen=True)
class Feature:
    """Hash and display data of one ontology node, as it appears in label-row dicts."""

    name: str
    feature_hash: str
    color: str = ""


# Object classes and, for vehicles, their "Occluded" radio attribute and options.
OBJECTS: dict[str, Feature] = {
    CAR: Feature(CAR, "simCar01", "#D33115"),
    TRUCK: Feature(TRUCK, "simTrk01", "#FCDC00"),
    PEDESTRIAN: Feature(PEDESTRIAN, "simPed01", "#68BC00"),
}
OCCLUDED: dict[str, Feature] = {CAR: Feature("Occluded", "simCarOc"), TRUCK: Feature("Occluded", "simTrkOc")}
OCCLUDED_OPTIONS: dict[str, dict[bool, Feature]] = {
    CAR: {True: Feature("yes", "simCarOy"), False: Feature("no", "simCarOn")},
    TRUCK: {True: Feature("yes", "simTrkOy"), False: Feature("no", "simTrkOn")},
}
WEATHER_CLASSIFICATION = Feature("Weather", "simWthr1")
WEATHER_ATTRIBUTE = Feature("Weather", "simWthrA")
WEATHER: dict[str, Feature] = {"sunny": Feature("sunny", "simSunny"), "rain": Feature("rain", "simRain1")}


def demo_ontology_structure() -> OntologyStructure:
    """Built with the SDK's builder so the editor JSON is exactly what Encord would store."""
    structure = OntologyStructure()
    for uid, name in enumerate(CLASSES, start=1):
        feature = OBJECTS[name]
        obj = structure.add_object(
            name=name, shape=Shape.BOUNDING_BOX, uid=uid, color=feature.color, feature_node_hash=feature.feature_hash
        )
        if name in VEHICLES:
            occluded = obj.add_attribute(
                RadioAttribute, "Occluded", local_uid=1, feature_node_hash=OCCLUDED[name].feature_hash
            )
            for local_uid, flag in enumerate((True, False), start=1):
                option = OCCLUDED_OPTIONS[name][flag]
                occluded.add_option(option.name, local_uid=local_uid, feature_node_hash=option.feature_hash)
    classification = structure.add_classification(uid=1, feature_node_hash=WEATHER_CLASSIFICATION.feature_hash)
    weather = classification.add_attribute(
        RadioAttribute, WEATHER_ATTRIBUTE.name, local_uid=1, feature_node_hash=WEATHER_ATTRIBUTE.feature_hash
    )
    for local_uid, name in enumerate(WEATHER_OPTIONS, start=1):
        weather.add_option(name, local_uid=local_uid, feature_node_hash=WEATHER[name].feature_hash)
    return structure


def demo_ontology() -> dict[str, Any]:
    """The ontology editor JSON (`{"objects": [...], "classifications": [...]}`), e.g. for `seed_standard_setup`."""
    result: dict[str, Any] = demo_ontology_structure().to_dict()
    return result
